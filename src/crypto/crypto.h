// The crypto module: Coffer's only door to OpenSSL 3's primitives. Outside
// src/crypto only src/net includes OpenSSL headers, for TLS (libssl).
//
//   secret_bytes.h  SecretBytes, ConstantTimeEquals, secure memory, no cores
//   random.h        RandomSource, SystemRandom (OpenSSL DRBG)
//   hash.h          SHA-1/SHA-2 digests
//   mac.h           HMAC
//   key_wrap.h      AES-KW / AES-KWP (SP 800-38F)
//   kdf.h           SP 800-108 counter-mode KDF (KBKDF)
//   aead.h          AES-GCM
//   cipher.h        AES-CBC(-PAD), AES-CTR (unauthenticated, for PKCS#11)
//   asymmetric.h    RSA, ECDSA, ECDH, Ed25519, OAEP, PKCS#1 v1.5 encryption;
//                   prehashed signatures; key import/export
//   x509.h          X.509 certificates, CSRs, issuing, chain verification
//   password.h      salted slow password hashes (scrypt)
//   kcv.h           key check values (AES-CMAC, ANSI X9.24-1)
//   self_test.h     power-on known-answer tests
//
// Error conventions for every function here: InvalidArgument for malformed
// input or unsupported sizes; DataLoss when authenticated data fails its
// check (tag, unwrap integrity, signature); Internal when OpenSSL fails for
// a reason the caller cannot fix. Messages never contain secret bytes.
#ifndef COFFER_CRYPTO_CRYPTO_H_
#define COFFER_CRYPTO_CRYPTO_H_

#include "crypto/aead.h"
#include "crypto/asymmetric.h"
#include "crypto/cipher.h"
#include "crypto/hash.h"
#include "crypto/kcv.h"
#include "crypto/kdf.h"
#include "crypto/key_wrap.h"
#include "crypto/mac.h"
#include "crypto/password.h"
#include "crypto/random.h"
#include "crypto/secret_bytes.h"
#include "crypto/self_test.h"
#include "crypto/x509.h"

#endif  // COFFER_CRYPTO_CRYPTO_H_
