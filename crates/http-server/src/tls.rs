//! TLS for the front door: a PEM certificate chain and key, offered with HTTP/2 and HTTP/1.1
//! through ALPN, and re-read when the files change so a renewed certificate needs no restart.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

/// How often the certificate files are checked for a change, unless told otherwise.
pub const RELOAD_CHECK_INTERVAL: Duration = Duration::from_secs(5);

/// Where the certificate chain and its private key are (PEM).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: rustls::pki_types::pem::Error,
    },
    #[error("{0} holds no PEM certificate")]
    NoCertificate(PathBuf),
    #[error("the certificate and key do not go together or are unusable: {0}")]
    Unusable(rustls::Error),
}

/// A TLS acceptor whose certificate follows its files.
#[derive(Clone)]
pub struct TlsSettings {
    acceptor: TlsAcceptor,
    certificate: Arc<ReloadingCertificate>,
    reload_interval: Duration,
}

impl fmt::Debug for TlsSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsSettings")
            .field("files", &self.certificate.files)
            .finish()
    }
}

impl TlsSettings {
    /// Loads the files; fails when they cannot be read or do not go together, so a bad setup
    /// stops the server at start rather than at the first handshake.
    pub fn load(files: TlsFiles) -> Result<Self, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let certificate = Arc::new(ReloadingCertificate::load(files, Arc::clone(&provider))?);
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Unusable)?
            .with_no_client_auth()
            .with_cert_resolver(Arc::clone(&certificate) as Arc<dyn ResolvesServerCert>);
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Self {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            certificate,
            reload_interval: RELOAD_CHECK_INTERVAL,
        })
    }

    /// Checks the files for a change every `interval` instead of [`RELOAD_CHECK_INTERVAL`].
    pub fn with_reload_interval(mut self, interval: Duration) -> Self {
        self.reload_interval = interval;
        self
    }

    pub(crate) fn acceptor(&self) -> &TlsAcceptor {
        &self.acceptor
    }

    /// Checks the files every reload interval until `stop`, swapping in a changed
    /// certificate. A change that does not load (say the certificate was written before its
    /// key) keeps the current one and is tried again at the next check.
    pub(crate) fn spawn_reloader(&self, stop: CancellationToken) {
        let certificate = Arc::clone(&self.certificate);
        let interval = self.reload_interval;
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = stop.cancelled() => return,
                    _ = ticks.tick() => {}
                }
                match certificate.reload_if_changed() {
                    Ok(true) => tracing::info!(cert = %certificate.files.cert.display(), "TLS certificate reloaded"),
                    Ok(false) => {}
                    Err(error) => {
                        tracing::warn!(%error, "the changed TLS certificate files do not load yet; keeping the current certificate")
                    }
                }
            }
        });
    }
}

/// Modification time and length of both files: what "changed" means.
type Stamp = [(Option<SystemTime>, u64); 2];

fn stamp(files: &TlsFiles) -> Stamp {
    let one = |path: &Path| match std::fs::metadata(path) {
        Ok(meta) => (meta.modified().ok(), meta.len()),
        Err(_) => (None, 0),
    };
    [one(&files.cert), one(&files.key)]
}

struct ReloadingCertificate {
    files: TlsFiles,
    provider: Arc<CryptoProvider>,
    current: ArcSwap<CertifiedKey>,
    loaded: Mutex<Stamp>,
}

impl fmt::Debug for ReloadingCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReloadingCertificate")
            .field("files", &self.files)
            .finish()
    }
}

impl ReloadingCertificate {
    fn load(files: TlsFiles, provider: Arc<CryptoProvider>) -> Result<Self, TlsError> {
        let loaded = stamp(&files);
        let key = read_certified_key(&files, &provider)?;
        Ok(Self {
            files,
            provider,
            current: ArcSwap::from_pointee(key),
            loaded: Mutex::new(loaded),
        })
    }

    fn reload_if_changed(&self) -> Result<bool, TlsError> {
        let now = stamp(&self.files);
        let mut loaded = self.loaded.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if *loaded == now {
            return Ok(false);
        }
        let key = read_certified_key(&self.files, &self.provider)?;
        self.current.store(Arc::new(key));
        *loaded = now;
        Ok(true)
    }
}

impl ResolvesServerCert for ReloadingCertificate {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}

fn read_certified_key(files: &TlsFiles, provider: &CryptoProvider) -> Result<CertifiedKey, TlsError> {
    let read_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| TlsError::Read { path, source }
    };
    let chain = CertificateDer::pem_file_iter(&files.cert)
        .map_err(read_error(&files.cert))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(read_error(&files.cert))?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate(files.cert.clone()));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(read_error(&files.key))?;
    CertifiedKey::from_der(chain, key, provider).map_err(TlsError::Unusable)
}
