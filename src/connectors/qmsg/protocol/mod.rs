//! QMsg's protocol, pure: no I/O, no clock (`../../shared/specs/qmsg-sms.md`; the seed is
//! `seeds/001_5bf76b26765129cc.txt`).
//!
//! [`codes`] the statCodes; [`request`] sendSms (GET in GBK or POST in UTF-8, chosen by the
//! limits, split when larger) and getSms; [`reply`] their replies (text and xml); [`push`]
//! the platform's `recvmsg` and `recvreport` callbacks.

pub mod codes;
pub mod push;
pub mod reply;
pub mod request;
#[cfg(test)]
mod vectors;

/// Text to GBK bytes, or None when a character has no GBK form.
pub fn to_gbk(text: &str) -> Option<Vec<u8>> {
    let (bytes, _, unmappable) = encoding_rs::GBK.encode(text);
    (!unmappable).then(|| bytes.into_owned())
}

/// Text from bytes that are UTF-8 or, failing that, GBK (the platform's XML says GBK).
pub fn text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => encoding_rs::GBK.decode_without_bom_handling(bytes).0.into_owned(),
    }
}
