//! TLS settings → a rustls `ClientConfig`, and TLS failures → one readable line.
//!
//! Everything here runs before the first packet goes out: an unreadable or empty PEM file is an
//! illegal invocation (exit 2), not a connection failure.

use std::path::Path;
use std::sync::Arc;

use anyhow::Result;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::exit::Failure;

/// What the command line asked of TLS.
#[derive(Debug, Default, Clone)]
pub struct TlsOptions<'a> {
    pub ca: Option<&'a Path>,
    pub cert: Option<&'a Path>,
    pub key: Option<&'a Path>,
    /// The name the broker's certificate must carry, when it is not the address host.
    pub server_name: Option<&'a str>,
    pub insecure: bool,
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Builds the client configuration; errors are usage errors naming the file.
pub fn client_config(opts: &TlsOptions<'_>) -> Result<ClientConfig> {
    let provider = provider();
    let verifier: Arc<dyn ServerCertVerifier> = if opts.insecure {
        Arc::new(NoVerification(provider.signature_verification_algorithms))
    } else {
        let mut roots = RootCertStore::empty();
        // Certificates the system cannot parse are skipped, as every TLS client does; a
        // missing system store only leaves --ca to trust.
        roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        if let Some(ca) = opts.ca {
            let certs = read_certs("--ca", ca)?;
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(Failure::usage(format!(
                    "--ca {}: no usable CA certificate in the file",
                    ca.display()
                )));
            }
        }
        let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(|e| Failure::usage(format!("TLS trust roots: {e}")))?;
        match opts.server_name {
            None => inner,
            Some(name) => {
                let name = ServerName::try_from(name.to_owned())
                    .map_err(|_| Failure::usage(format!("--server {name:?}: not a valid name")))?;
                Arc::new(NameOverride { inner, name })
            }
        }
    };

    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Failure::usage(format!("TLS: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    match (opts.cert, opts.key) {
        (Some(cert), Some(key)) => {
            let chain = read_certs("--cert", cert)?;
            let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| {
                Failure::usage(format!(
                    "--key {}: {}",
                    key.display(),
                    pem_problem(&e, "private key")
                ))
            })?;
            builder.with_client_auth_cert(chain, key_der).map_err(|e| {
                Failure::usage(format!(
                    "--cert {} with --key {}: {e}",
                    cert.display(),
                    key.display()
                ))
            })
        }
        _ => Ok(builder.with_no_client_auth()),
    }
}

fn read_certs(option: &str, path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let what = |e: &rustls::pki_types::pem::Error| {
        Failure::usage(format!(
            "{option} {}: {}",
            path.display(),
            pem_problem(e, "certificate")
        ))
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| what(&e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| what(&e))?;
    if certs.is_empty() {
        return Err(Failure::usage(format!(
            "{option} {}: no PEM certificate in the file",
            path.display()
        )));
    }
    Ok(certs)
}

fn pem_problem(e: &rustls::pki_types::pem::Error, what: &str) -> String {
    use rustls::pki_types::pem::Error;
    match e {
        Error::NoItemsFound => format!("no PEM {what} in the file"),
        Error::Io(io) => io_problem(io),
        other => format!("not a readable PEM {what} ({other:?})"),
    }
}

/// An I/O error as a short phrase, without Rust's "(os error 2)" noise.
pub fn io_problem(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::IsADirectory => "is a directory".into(),
        _ => e.to_string(),
    }
}

/// Verifies against a name of the user's choosing (--server, or the host name when the
/// connection goes to an address resolved by mqttc itself).
#[derive(Debug)]
struct NameOverride {
    inner: Arc<WebPkiServerVerifier>,
    name: ServerName<'static>,
}

impl ServerCertVerifier for NameOverride {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.inner
            .verify_server_cert(end_entity, intermediates, &self.name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// --insecure: any certificate is accepted, but the handshake signatures are still checked, so
/// the peer must at least hold the key of the certificate it shows.
#[derive(Debug)]
struct NoVerification(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

/// One line for a TLS failure, naming the likely cause before rustls' own words.
pub fn describe(e: &rustls::Error) -> String {
    use rustls::{AlertDescription as A, CertificateError as C, Error as E};
    match e {
        E::InvalidCertificate(C::UnknownIssuer) => {
            "the broker's certificate is not signed by a trusted CA (unknown issuer; see --ca)"
                .into()
        }
        E::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => {
            "the broker's certificate has expired".into()
        }
        E::InvalidCertificate(C::NotValidYet | C::NotValidYetContext { .. }) => {
            "the broker's certificate is not valid yet".into()
        }
        E::InvalidCertificate(C::NotValidForName | C::NotValidForNameContext { .. }) => {
            "the broker's certificate does not match the host name (see --server)".into()
        }
        E::InvalidCertificate(C::Revoked) => "the broker's certificate is revoked".into(),
        E::AlertReceived(A::CertificateRequired) => {
            "the broker requires a client certificate (see --cert and --key)".into()
        }
        E::AlertReceived(A::BadCertificate | A::UnknownCA | A::CertificateUnknown) => {
            "the broker refused the client certificate".into()
        }
        E::AlertReceived(A::HandshakeFailure) => {
            "the broker refused the TLS handshake (a client certificate may be required)".into()
        }
        other => format!("TLS failure: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_files_are_usage_errors_naming_the_file() {
        let opts = TlsOptions {
            ca: Some(Path::new("/nonexistent/ca.pem")),
            ..Default::default()
        };
        let err = client_config(&opts).unwrap_err();
        assert_eq!(crate::exit::status_of(&err), crate::exit::Status::Usage);
        assert_eq!(err.to_string(), "--ca /nonexistent/ca.pem: no such file");
    }

    #[test]
    fn a_pem_without_certificates_is_refused() {
        let dir = std::env::temp_dir().join(format!("mqttc-tls-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("empty.pem");
        std::fs::write(&file, "not a certificate\n").unwrap();
        let opts = TlsOptions {
            ca: Some(&file),
            ..Default::default()
        };
        let err = client_config(&opts).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("--ca {}: no PEM certificate in the file", file.display())
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn insecure_builds_without_roots() {
        let opts = TlsOptions {
            insecure: true,
            ..Default::default()
        };
        client_config(&opts).unwrap();
    }
}
