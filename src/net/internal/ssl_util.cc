#include "net/internal/ssl_util.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <climits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "crypto/hash.h"
#include "crypto/x509.h"

namespace coffer::net::internal {
namespace {

using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;

// Encrypted PEM is refused rather than prompting on a terminal.
int NoPassword(char*, int, int, void*) { return 0; }

// Resumption would let a client skip presenting its certificate to the
// current trust anchors; every connection does a full handshake instead.
SSL_TICKET_RETURN IgnoreTicket(SSL*, SSL_SESSION*, const unsigned char*, size_t,
                               SSL_TICKET_STATUS, void*) {
  return SSL_TICKET_RETURN_IGNORE;
}

absl::StatusOr<BioPtr> MemoryBio(ByteView bytes, absl::string_view what) {
  if (bytes.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(what, " is empty"));
  }
  if (bytes.size() > static_cast<size_t>(INT_MAX)) {
    return absl::InvalidArgumentError(absl::StrCat(what, " is too large"));
  }
  BioPtr bio(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
  if (bio == nullptr) {
    ClearSslErrors();
    return absl::ResourceExhaustedError("BIO_new_mem_buf failed");
  }
  return bio;
}

// Every CERTIFICATE block of `pem`, in order; at least one.
absl::StatusOr<std::vector<X509Ptr>> ReadCertificates(const std::string& pem,
                                                      absl::string_view what) {
  COFFER_ASSIGN_OR_RETURN(BioPtr bio, MemoryBio(AsBytes(pem), what));
  std::vector<X509Ptr> certs;
  ClearSslErrors();
  while (X509* x509 =
             PEM_read_bio_X509(bio.get(), nullptr, NoPassword, nullptr)) {
    certs.emplace_back(x509);
  }
  // The end of the text shows up as "no start line"; anything else is a
  // damaged block.
  const unsigned long err = ERR_peek_last_error();
  const bool clean_end = ERR_GET_LIB(err) == ERR_LIB_PEM &&
                         ERR_GET_REASON(err) == PEM_R_NO_START_LINE;
  ClearSslErrors();
  if (err != 0 && !clean_end) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " holds a malformed CERTIFICATE block"));
  }
  if (certs.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " holds no CERTIFICATE block"));
  }
  return certs;
}

absl::StatusOr<PkeyPtr> ReadPrivateKey(const crypto::SecretBytes& pem) {
  COFFER_ASSIGN_OR_RETURN(BioPtr bio,
                          MemoryBio(pem.ExposeSecret(), "private_key_pem"));
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassword, nullptr));
  ClearSslErrors();
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        "private_key_pem holds no readable unencrypted private key; expected "
        "a PKCS#8 \"PRIVATE KEY\" block");
  }
  return key;
}

absl::Status InternalSslError(absl::string_view what) {
  const unsigned long err = ERR_peek_last_error();
  const char* reason = err != 0 ? ERR_reason_error_string(err) : nullptr;
  ClearSslErrors();
  return absl::InternalError(absl::StrCat(
      what, " failed: ", reason != nullptr ? reason : "unknown reason"));
}

absl::Status LoadCredentials(SSL_CTX* ctx, const TlsCredentials& credentials) {
  COFFER_ASSIGN_OR_RETURN(std::vector<X509Ptr> chain,
                          ReadCertificates(credentials.certificate_chain_pem,
                                           "certificate_chain_pem"));
  COFFER_ASSIGN_OR_RETURN(PkeyPtr key,
                          ReadPrivateKey(credentials.private_key_pem));
  COFFER_ASSIGN_OR_RETURN(
      std::vector<X509Ptr> anchors,
      ReadCertificates(credentials.trust_anchors_pem, "trust_anchors_pem"));
  if (SSL_CTX_use_certificate(ctx, chain[0].get()) != 1) {
    ClearSslErrors();
    return absl::InvalidArgumentError(
        "the leaf certificate of certificate_chain_pem cannot be used for TLS "
        "(unsupported or too weak a key?)");
  }
  for (size_t i = 1; i < chain.size(); ++i) {
    if (SSL_CTX_ctrl(ctx, SSL_CTRL_CHAIN_CERT, 1, chain[i].get()) != 1) {
      return InternalSslError("adding an intermediate certificate");
    }
  }
  if (SSL_CTX_use_PrivateKey(ctx, key.get()) != 1 ||
      SSL_CTX_check_private_key(ctx) != 1) {
    ClearSslErrors();
    return absl::InvalidArgumentError(
        "private_key_pem does not match the leaf certificate of "
        "certificate_chain_pem");
  }
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  for (const X509Ptr& anchor : anchors) {
    if (X509_STORE_add_cert(store, anchor.get()) != 1) {
      return InternalSslError("adding a trust anchor");
    }
  }
  // Any listed CA is an anchor, even an intermediate (as crypto::VerifyChain).
  if (X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN) != 1) {
    return InternalSslError("X509_STORE_set_flags");
  }
  return absl::OkStatus();
}

bool IsCertificateAlert(int reason) {
  switch (reason) {
    case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
    case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
    case SSL_R_TLSV1_ALERT_ACCESS_DENIED:
    case SSL_R_TLSV1_ALERT_DECRYPT_ERROR:
    case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
      return true;
    default:
      return false;
  }
}

}  // namespace

void ClearSslErrors() { ERR_clear_error(); }

absl::StatusOr<SslCtxShared> NewContext(Side side,
                                        const TlsCredentials& credentials) {
  const bool server = side == Side::kServer;
  SslCtxShared ctx(
      SSL_CTX_new(server ? TLS_server_method() : TLS_client_method()),
      SSL_CTX_free);
  if (ctx == nullptr) return InternalSslError("SSL_CTX_new");
  SSL_CTX* c = ctx.get();
  if (SSL_CTX_ctrl(c, SSL_CTRL_SET_MIN_PROTO_VERSION, TLS1_3_VERSION,
                   nullptr) != 1 ||
      SSL_CTX_ctrl(c, SSL_CTRL_SET_MAX_PROTO_VERSION, TLS1_3_VERSION,
                   nullptr) != 1) {
    return InternalSslError("restricting the context to TLS 1.3");
  }
  // Read-ahead lets one recv() fetch several records (pipelined requests).
  SSL_CTX_ctrl(c, SSL_CTRL_SET_READ_AHEAD, 1, nullptr);
  SSL_CTX_ctrl(c, SSL_CTRL_SET_SESS_CACHE_MODE, SSL_SESS_CACHE_OFF, nullptr);
  if (server) {
    if (SSL_CTX_set_num_tickets(c, 1) != 1 ||
        SSL_CTX_set_session_ticket_cb(c, nullptr, IgnoreTicket, nullptr) != 1) {
      return InternalSslError("configuring session tickets");
    }
  }
  COFFER_RETURN_IF_ERROR(LoadCredentials(c, credentials));
  SSL_CTX_set_verify(
      c, SSL_VERIFY_PEER | (server ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
      nullptr);
  return ctx;
}

void SetSslMode(SSL* ssl, long mode, bool on) {
  SSL_ctrl(ssl, on ? SSL_CTRL_MODE : SSL_CTRL_CLEAR_MODE, mode, nullptr);
}

bool SetSniHostName(SSL* ssl, const char* name) {
  return SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                  const_cast<char*>(name)) == 1;
}

absl::Status SetExpectedServerName(SSL* ssl, const std::string& server_name) {
  if (server_name.empty()) return absl::OkStatus();
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  in6_addr ip = {};
  const bool is_ip = inet_pton(AF_INET, server_name.c_str(), &ip) == 1 ||
                     inet_pton(AF_INET6, server_name.c_str(), &ip) == 1;
  bool ok = false;
  if (is_ip) {
    ok = X509_VERIFY_PARAM_set1_ip_asc(param, server_name.c_str()) == 1;
  } else {
    X509_VERIFY_PARAM_set_hostflags(param,
                                    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    ok = SSL_set1_host(ssl, server_name.c_str()) == 1 &&
         SetSniHostName(ssl, server_name.c_str());
  }
  if (!ok) {
    ClearSslErrors();
    return absl::InvalidArgumentError(absl::StrCat(
        "server_name \"", server_name, "\" is not a valid DNS name or IP"));
  }
  return absl::OkStatus();
}

absl::StatusOr<PeerIdentity> ReadPeerIdentity(const SSL* ssl) {
  const X509* peer = SSL_get0_peer_certificate(ssl);
  if (peer == nullptr) {
    return absl::UnauthenticatedError("the peer presented no certificate");
  }
  const int len = i2d_X509(peer, nullptr);
  if (len <= 0) return InternalSslError("encoding the peer certificate");
  PeerIdentity id;
  id.certificate_der.resize(static_cast<size_t>(len));
  unsigned char* p = id.certificate_der.data();
  if (i2d_X509(peer, &p) != len) {
    return InternalSslError("encoding the peer certificate");
  }
  absl::StatusOr<crypto::Certificate> cert =
      crypto::Certificate::FromDer(id.certificate_der);
  if (!cert.ok()) {
    return absl::UnauthenticatedError(
        absl::StrCat("the peer certificate verified but cannot be read: ",
                     cert.status().message()));
  }
  id.subject_common_name = cert->subject_common_name();
  id.subject_organization = cert->subject_organization();
  id.issuer_common_name = cert->issuer_common_name();
  COFFER_ASSIGN_OR_RETURN(
      id.sha256_fingerprint,
      crypto::Digest(crypto::HashAlg::kSha256, id.certificate_der));
  return id;
}

absl::Status SslFailure(const SSL* ssl, absl::string_view what) {
  const unsigned long err = ERR_peek_last_error();
  const int reason = ERR_GET_LIB(err) == ERR_LIB_SSL ? ERR_GET_REASON(err) : 0;
  const char* reason_text = err != 0 ? ERR_reason_error_string(err) : nullptr;
  if (reason_text == nullptr) reason_text = "unknown TLS error";
  ClearSslErrors();
  const long verify = ssl != nullptr ? SSL_get_verify_result(ssl) : X509_V_OK;
  if (reason == SSL_R_CERTIFICATE_VERIFY_FAILED && verify != X509_V_OK) {
    return absl::UnauthenticatedError(
        absl::StrCat(what, ": the peer's certificate was refused: ",
                     X509_verify_cert_error_string(verify)));
  }
  if (IsCertificateAlert(reason)) {
    return absl::UnauthenticatedError(absl::StrCat(
        what, ": certificate refused (", reason_text,
        "); check that each side trusts the CA that issued the other's "
        "certificate"));
  }
  return absl::UnavailableError(absl::StrCat(what, " failed: ", reason_text));
}

}  // namespace coffer::net::internal
