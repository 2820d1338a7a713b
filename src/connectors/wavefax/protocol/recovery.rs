//! Finding a submitted job again after its reply was lost, pure.
//!
//! What the seed promises and what it does not (issue: "never submitted twice"):
//! - `getoutfaxids` lists the ids of **sent** faxes ("已发送的传真ID列表"): a job still
//!   queued, converting or dialling may not be listed yet. So a lookup that finds nothing
//!   proves nothing: the agent never submits again after a submit whose answer it did not
//!   see. It looks again until the command's retry window is spent, then answers
//!   `submit_uncertain`, and settles it later with `fax.submit_resolved`.
//! - `getoutfax` names the job's `fileid`, but the seed does not say what it holds for a
//!   merged or converted fax (the server may give the job a file id of its own). So a job
//!   is ours when its `fileid` names one of our uploads, **or** when everything else the
//!   agent sent matches: the number (spaces ignored), the subject and the recipient, the
//!   job having been listed in the window that starts before our submit mark.

use serde_json::{Map, Value};

/// What the agent sent in the submit it is looking for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted<'a> {
    pub fileids: &'a [String],
    pub faxnum: &'a str,
    pub subject: &'a str,
    pub recipient: &'a str,
}

fn field(fields: &Map<String, Value>, key: &str) -> String {
    fields.get(key).and_then(crate::connectors::lenient::text_of).unwrap_or_default()
}

fn squeezed(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Whether the job described by `getoutfax`'s `fields` is the one `ours` submitted.
pub fn is_ours(fields: &Map<String, Value>, ours: &Submitted<'_>) -> bool {
    let theirs = field(fields, "fileid");
    if theirs.split([',', ';', ' ']).any(|f| !f.is_empty() && ours.fileids.iter().any(|o| o == f)) {
        return true;
    }
    !ours.faxnum.is_empty()
        && squeezed(&field(fields, "faxnum")) == squeezed(ours.faxnum)
        && field(fields, "subject") == ours.subject
        && field(fields, "recipient") == ours.recipient
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(v: Value) -> Map<String, Value> {
        v.as_object().cloned().expect("object")
    }

    const OURS: Submitted<'static> =
        Submitted { fileids: &[], faxnum: "+86(20)87057352", subject: "Quote", recipient: "Li Lei" };

    #[test]
    fn a_job_naming_one_of_our_uploads_is_ours() {
        let ids = ["F1".to_string(), "F2".to_string()];
        let ours = Submitted { fileids: &ids, ..OURS };
        assert!(is_ours(&fields(json!({"fileid": "F2"})), &ours));
        assert!(is_ours(&fields(json!({"fileid": "F9,F1"})), &ours));
        assert!(!is_ours(&fields(json!({"fileid": "F9", "faxnum": "123"})), &ours));
    }

    #[test]
    fn a_merged_job_with_a_file_id_of_its_own_is_found_by_number_subject_and_recipient() {
        let job = json!({"fileid": "M77", "faxnum": "+86(20) 87057352", "subject": "Quote", "recipient": "Li Lei"});
        assert!(is_ours(&fields(job), &OURS));
        let other = json!({"fileid": "M78", "faxnum": "+86(20)87057352", "subject": "Invoice", "recipient": "Li Lei"});
        assert!(!is_ours(&fields(other), &OURS), "another subject is another fax");
        let mail_only = Submitted { faxnum: "", ..OURS };
        assert!(!is_ours(&fields(json!({"faxnum": "", "subject": "Quote", "recipient": "Li Lei"})), &mail_only));
    }
}
