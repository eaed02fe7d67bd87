//! The installation's 32-byte secret key: its file, and sealing secrets at rest with it.

use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::Path;
use std::thread;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::rngs::OsRng;
use rand::RngCore;
use zeroize::Zeroize;

use crate::error::AuthError;

const KEY_LEN: usize = 32;
/// First byte of every sealed blob, so that the format can change without guessing.
const SEAL_VERSION: u8 = 1;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
/// How long to wait for another process that created the key file to finish writing it.
const RACE_RETRIES: u32 = 40;
const RACE_PAUSE: Duration = Duration::from_millis(25);

/// The installation's secret key. Seals client secrets of customer app registrations and the
/// private halves of signing keys. Never printed: `Debug` shows nothing of it.
pub struct SecretKey {
    bytes: [u8; KEY_LEN],
}

impl SecretKey {
    /// A new random key.
    pub fn generate() -> Self {
        let mut bytes = [0u8; KEY_LEN];
        OsRng.fill_bytes(&mut bytes);
        Self { bytes }
    }

    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self { bytes }
    }

    /// Loads the key file, or creates it (mode 0600) with a new key when it does not exist.
    ///
    /// A file that exists but does not hold a key is refused rather than replaced: replacing it
    /// would make every sealed secret unreadable.
    pub fn load_or_create(path: &Path) -> Result<Self, AuthError> {
        match fs::read_to_string(path) {
            // Empty: possibly created by another process this instant, not yet written.
            Ok(text) if text.is_empty() => return load_after_race(path),
            Ok(text) => return parse_key_text(path, text),
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(io_error("read", path, e)),
        }
        let key = Self::generate();
        match write_new_key_file(path, &key) {
            Ok(()) => Ok(key),
            // Another process created it between our read and our create: use its key.
            Err(e) if e.kind() == ErrorKind::AlreadyExists => load_after_race(path),
            Err(e) => Err(io_error("create", path, e)),
        }
    }

    /// Encrypts with XChaCha20-Poly1305: `version (1) ‖ nonce (24) ‖ ciphertext ‖ tag (16)`.
    /// The nonce is random; 24 bytes make collisions negligible for any number of seals.
    pub fn seal(&self, plaintext: &[u8]) -> Result<Vec<u8>, AuthError> {
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        let ciphertext = self
            .cipher()
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: &[SEAL_VERSION],
                },
            )
            .map_err(|_| AuthError::Seal("the plaintext is too large"))?;
        let mut sealed = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        sealed.push(SEAL_VERSION);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        Ok(sealed)
    }

    /// Decrypts what `seal` produced; fails on any other key, version or altered byte.
    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, AuthError> {
        let (&version, rest) = sealed.split_first().ok_or(AuthError::Unseal("it is empty"))?;
        if version != SEAL_VERSION {
            return Err(AuthError::Unseal("unknown format version"));
        }
        if rest.len() < NONCE_LEN + TAG_LEN {
            return Err(AuthError::Unseal("it is truncated"));
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        self.cipher()
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: &[version],
                },
            )
            .map_err(|_| AuthError::Unseal("authentication failed (another key, or altered data)"))
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new((&self.bytes).into())
    }

    fn to_file_text(&self) -> String {
        let mut text = STANDARD.encode(self.bytes);
        text.push('\n');
        text
    }
}

impl Drop for SecretKey {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

fn io_error(action: &'static str, path: &Path, source: std::io::Error) -> AuthError {
    AuthError::KeyFileIo {
        action,
        path: path.to_path_buf(),
        source,
    }
}

fn invalid(path: &Path, reason: &'static str) -> AuthError {
    AuthError::InvalidKeyFile {
        path: path.to_path_buf(),
        reason,
    }
}

fn parse_key_text(path: &Path, mut text: String) -> Result<SecretKey, AuthError> {
    let result = decode_key(path, text.trim());
    text.zeroize();
    result
}

fn decode_key(path: &Path, text: &str) -> Result<SecretKey, AuthError> {
    if text.is_empty() {
        return Err(invalid(path, "the file is empty"));
    }
    let mut decoded = STANDARD
        .decode(text)
        .map_err(|_| invalid(path, "the content is not base64"))?;
    let result = <[u8; KEY_LEN]>::try_from(decoded.as_slice())
        .map(SecretKey::from_bytes)
        .map_err(|_| invalid(path, "the content is not 32 bytes long"));
    decoded.zeroize();
    result
}

fn write_new_key_file(path: &Path, key: &SecretKey) -> std::io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent)?;
    }
    let mut options = OpenOptions::new();
    // create_new fails if the file appeared meanwhile, so two starting processes never
    // overwrite each other's key.
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    let mut text = key.to_file_text();
    let written = file.write_all(text.as_bytes()).and_then(|()| file.sync_all());
    text.zeroize();
    if let Err(e) = written {
        // A half-written key file would be refused at the next start; leave none behind.
        drop(file);
        let _ = fs::remove_file(path);
        return Err(e);
    }
    Ok(())
}

/// Reads a key file another process has just created, waiting briefly while it is still empty.
fn load_after_race(path: &Path) -> Result<SecretKey, AuthError> {
    let mut attempt = 0;
    loop {
        let text = fs::read_to_string(path).map_err(|e| io_error("read", path, e))?;
        if !text.trim().is_empty() || attempt >= RACE_RETRIES {
            return parse_key_text(path, text);
        }
        attempt += 1;
        thread::sleep(RACE_PAUSE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_roundtrip() {
        let key = SecretKey::generate();
        for plaintext in [&b""[..], b"x", b"a client secret value~with.odd_chars"] {
            let sealed = key.seal(plaintext).unwrap();
            assert_eq!(sealed[0], SEAL_VERSION);
            assert_eq!(sealed.len(), 1 + NONCE_LEN + plaintext.len() + TAG_LEN);
            assert_eq!(key.open(&sealed).unwrap(), plaintext);
        }
    }

    #[test]
    fn sealing_twice_differs() {
        let key = SecretKey::generate();
        assert_ne!(key.seal(b"same").unwrap(), key.seal(b"same").unwrap());
    }

    #[test]
    fn tampering_is_detected_at_every_position() {
        let key = SecretKey::generate();
        let sealed = key.seal(b"secret").unwrap();
        for i in 0..sealed.len() {
            let mut altered = sealed.clone();
            altered[i] ^= 0x01;
            assert!(key.open(&altered).is_err(), "flipping byte {i} went unnoticed");
        }
        assert!(key.open(&sealed[..sealed.len() - 1]).is_err());
        assert!(key.open(&[]).is_err());
        assert!(key.open(&[SEAL_VERSION; 10]).is_err());
    }

    #[test]
    fn another_key_cannot_open() {
        let sealed = SecretKey::generate().seal(b"secret").unwrap();
        assert!(matches!(SecretKey::generate().open(&sealed), Err(AuthError::Unseal(_))));
    }

    #[test]
    fn key_file_is_created_private_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested").join("secret.key");
        let created = SecretKey::load_or_create(&path).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(STANDARD.decode(text.trim()).unwrap().len(), KEY_LEN);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let reloaded = SecretKey::load_or_create(&path).unwrap();
        assert_eq!(created.bytes, reloaded.bytes);
        let sealed = created.seal(b"survives a restart").unwrap();
        assert_eq!(reloaded.open(&sealed).unwrap(), b"survives a restart");
    }

    #[test]
    fn invalid_key_files_are_refused_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let cases: [(&str, &str); 3] = [
            ("", "empty"),
            ("not base64 at all!", "not base64"),
            ("AAAA\n", "not 32 bytes"),
        ];
        for (content, expected) in cases {
            let path = dir.path().join("key");
            fs::write(&path, content).unwrap();
            let error = SecretKey::load_or_create(&path).unwrap_err();
            let message = error.to_string();
            assert!(matches!(error, AuthError::InvalidKeyFile { .. }), "{message}");
            assert!(message.contains(expected), "{message}");
            assert_eq!(fs::read_to_string(&path).unwrap(), content, "the file was changed");
        }
    }

    #[test]
    fn concurrent_creation_agrees_on_one_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.key");
        let keys: Vec<[u8; KEY_LEN]> = thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| scope.spawn(|| SecretKey::load_or_create(&path).unwrap().bytes))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(keys.iter().all(|k| *k == keys[0]));
    }

    #[test]
    fn debug_hides_the_key() {
        let key = SecretKey::from_bytes([7u8; KEY_LEN]);
        assert_eq!(format!("{key:?}"), "SecretKey(..)");
    }
}
