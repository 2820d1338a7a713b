//! The rustls client configuration for every TLS client of the agent (the uplink, and the
//! HTTP client's `https://`): ring provider (builds for MIPS), a custom CA or the system
//! roots, and an optional client certificate (mutual TLS).

use crate::config::TlsConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{file}: {reason}")]
    File { file: String, reason: String },
    #[error("tls: {0}")]
    Rustls(#[from] rustls::Error),
}

fn file_error(file: &str, reason: impl ToString) -> TlsError {
    TlsError::File { file: file.to_string(), reason: reason.to_string() }
}

/// Builds the client config from the `[mqtt.tls]` table.
pub fn client_config(tls: &TlsConfig) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    if tls.ca_file.is_empty() {
        let found = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(found.certs);
        if roots.is_empty() {
            return Err(file_error("system roots", "no CA certificates found; set mqtt.tls.ca_file"));
        }
    } else {
        for cert in CertificateDer::pem_file_iter(&tls.ca_file).map_err(|e| file_error(&tls.ca_file, e))? {
            roots.add(cert.map_err(|e| file_error(&tls.ca_file, e))?)?;
        }
        if roots.is_empty() {
            return Err(file_error(&tls.ca_file, "no certificate in the file"));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots);
    let config = if tls.client_cert_file.is_empty() {
        builder.with_no_client_auth()
    } else {
        let chain = CertificateDer::pem_file_iter(&tls.client_cert_file)
            .map_err(|e| file_error(&tls.client_cert_file, e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| file_error(&tls.client_cert_file, e))?;
        let key =
            PrivateKeyDer::from_pem_file(&tls.client_key_file).map_err(|e| file_error(&tls.client_key_file, e))?;
        builder.with_client_auth_cert(chain, key)?
    };
    Ok(Arc::new(config))
}
