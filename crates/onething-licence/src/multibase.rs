//! The few Multibase and Multicodec encodings the credentials use: base58btc (`z…`) for proof values and
//! Multikey public keys, base64url without padding (`u…`) for the status list, and the Multicodec prefixes of
//! Ed25519 (and, behind the `sm2` feature, SM2) keys.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Multicodec `ed25519-pub` (0xed) as an unsigned varint.
pub(crate) const ED25519_PUB: [u8; 2] = [0xed, 0x01];
/// Multicodec `ed25519-priv` (0x1300) as an unsigned varint.
pub(crate) const ED25519_PRIV: [u8; 2] = [0x80, 0x26];
/// Multicodec `sm2-pub` (0x1206) as an unsigned varint.
#[cfg(feature = "sm2")]
pub(crate) const SM2_PUB: [u8; 2] = [0x86, 0x24];

/// `z` + base58btc.
pub(crate) fn encode_base58btc(bytes: &[u8]) -> String {
    format!("z{}", bs58::encode(bytes).into_string())
}

/// Decodes `z` + base58btc; `None` for another base or a bad character.
pub(crate) fn decode_base58btc(text: &str) -> Option<Vec<u8>> {
    let rest = text.strip_prefix('z')?;
    bs58::decode(rest).into_vec().ok()
}

/// `u` + base64url without padding.
pub(crate) fn encode_base64url(bytes: &[u8]) -> String {
    format!("u{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// Decodes `u` + base64url without padding.
pub(crate) fn decode_base64url(text: &str) -> Option<Vec<u8>> {
    let rest = text.strip_prefix('u')?;
    URL_SAFE_NO_PAD.decode(rest).ok()
}

/// Plain base64url without padding and without a Multibase prefix (the QR payload segments).
pub(crate) fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes plain base64url without padding.
pub(crate) fn unb64url(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

/// A Multikey `publicKeyMultibase` value: `z` + base58btc(multicodec prefix ‖ key bytes).
pub(crate) fn multikey(prefix: [u8; 2], key: &[u8]) -> String {
    let mut bytes = Vec::with_capacity(2 + key.len());
    bytes.extend_from_slice(&prefix);
    bytes.extend_from_slice(key);
    encode_base58btc(&bytes)
}

/// The key bytes of a Multikey value with the given multicodec prefix.
pub(crate) fn from_multikey(prefix: [u8; 2], text: &str) -> Option<Vec<u8>> {
    let bytes = decode_base58btc(text)?;
    bytes.strip_prefix(&prefix[..]).map(<[u8]>::to_vec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let bytes = [0u8, 0, 1, 2, 255];
        assert_eq!(decode_base58btc(&encode_base58btc(&bytes)).unwrap(), bytes);
        assert_eq!(decode_base64url(&encode_base64url(&bytes)).unwrap(), bytes);
        assert!(decode_base58btc("u123").is_none());
        assert!(decode_base58btc("z0OIl").is_none());
        assert!(decode_base64url("z123").is_none());
        assert_eq!(from_multikey(ED25519_PUB, &multikey(ED25519_PUB, &[7; 32])).unwrap(), [7; 32]);
        assert!(from_multikey(ED25519_PRIV, &multikey(ED25519_PUB, &[7; 32])).is_none());
    }
}
