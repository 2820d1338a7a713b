//! The file relay's upload delivery: a spooled file POSTed to `upload_url` with a Bearer
//! token and `X-Telbridge-*` headers (its SHA-256 among them); a 2xx is the cloud's
//! acknowledgement, committed with the `…uploaded` event. A failure is tried again next round.

use super::{FileRelay, read_spooled, touch};
use crate::http::client::{self, Url};
use crate::store::StoreError;
use serde_json::{Value, json};

impl FileRelay {
    /// POSTs a spooled file to `upload_url`; a 2xx is the cloud's acknowledgement (then
    /// true). A failure is logged and tried again next round.
    pub(super) async fn upload(&self, file_id: &str) -> Result<bool, StoreError> {
        let id = file_id.to_string();
        let Some((meta, data)) = self.store.call(move |db| read_spooled(db, &id)).await? else { return Ok(false) };
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        let file = &meta["file"];
        let (sha, item, ct) = (text(&file["sha256"]), text(&meta[self.names.item_key]), text(&file["content_type"]));
        let sent = self.post(file_id, &sha, &item, &ct, data).await;
        match sent {
            Ok(status) if (200..300).contains(&status) => {
                let data = json!({"file_id": file_id, self.names.item_key: item, "status": status});
                self.release(file_id, Some(self.event(self.names.uploaded, data))).await?;
                return Ok(true);
            }
            Ok(status) => log::warn!("{}: upload of {file_id} answered {status}", self.source),
            Err(e) => log::warn!("{}: upload of {file_id} failed: {e}", self.source),
        }
        let id = file_id.to_string();
        self.store.call(move |db| touch(db, &id)).await?;
        Ok(false)
    }

    async fn post(
        &self,
        file_id: &str,
        sha: &str,
        item: &str,
        ct: &str,
        data: Vec<u8>,
    ) -> Result<u16, client::ClientError> {
        let url = Url::parse(&self.settings.upload_url)?;
        let auth = format!("Bearer {}", self.settings.upload_token);
        let mut headers = vec![
            ("X-Telbridge-Agent", self.agent.as_str()),
            ("X-Telbridge-Source", self.source.as_str()),
            ("X-Telbridge-File-Id", file_id),
            (self.names.item_header, item),
            ("X-Telbridge-Sha256", sha),
        ];
        if !self.settings.upload_token.is_empty() {
            headers.push(("Authorization", auth.as_str()));
        }
        let ex = client::Exchange {
            method: hyper::Method::POST,
            target: &url.target,
            content_type: Some(ct),
            headers: &headers,
            body: Some(data),
            timeout: self.settings.timeout,
            max_reply_bytes: 64 * 1024,
        };
        let reply = self.client.exchange(&url, ex).await?;
        if !(200..300).contains(&reply.status) {
            log::debug!("{}: upload reply: {}", self.source, String::from_utf8_lossy(&reply.body));
        }
        Ok(reply.status)
    }
}
