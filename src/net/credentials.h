// What each side of a Coffer TLS connection brings (its certificate, key and
// the CAs it trusts for the other side) and what it learns about the peer.
#ifndef COFFER_NET_CREDENTIALS_H_
#define COFFER_NET_CREDENTIALS_H_

#include <string>

#include "base/bytes.h"
#include "crypto/secret_bytes.h"

namespace coffer::net {

// Every field is PEM text. Parsed when a server is created or updated and
// when a client connects; bad PEM or a key that does not match the leaf is
// InvalidArgument there. Move-only (the key is a SecretBytes).
struct TlsCredentials {
  // The leaf certificate first, then any intermediates to send with it.
  std::string certificate_chain_pem;
  // The leaf's private key: unencrypted PKCS#8 ("PRIVATE KEY") or a
  // traditional RSA/EC key block. Never copied into a std::string or logged.
  crypto::SecretBytes private_key_pem;
  // One or more CA certificates; the peer's certificate must chain to one of
  // them. Every certificate here is an anchor, self-signed or not.
  std::string trust_anchors_pem;
};

// The authenticated peer of a connection: its leaf certificate, as verified
// in the handshake. Names are the first CN / O, UTF-8, empty when absent.
struct PeerIdentity {
  std::string subject_common_name;
  std::string subject_organization;
  std::string issuer_common_name;
  Bytes sha256_fingerprint;  // SHA-256 of certificate_der, 32 bytes
  Bytes certificate_der;
};

}  // namespace coffer::net

#endif  // COFFER_NET_CREDENTIALS_H_
