// Parsing, encoding and chain verification; building and signing live in
// x509_issue.cc.
#include "crypto/x509.h"

#include <arpa/inet.h>
#include <openssl/bn.h>
#include <openssl/x509v3.h>

#include <cctype>
#include <optional>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "crypto/internal/pkey_access.h"
#include "crypto/internal/x509_util.h"

namespace coffer::crypto {
namespace internal {

// Everything a certificate says, read once at parse time so the getters
// are plain reads and the X509 is never lazily mutated by two threads.
struct CertificateData {
  X509Ptr x509;
  Bytes der;
  std::string pem;
  std::string subject_cn, subject_o, issuer_cn, serial_hex;
  int64_t not_before = 0;
  int64_t not_after = 0;
  bool is_ca = false;
  int path_length = -1;
  bool server_auth = false;
  bool client_auth = false;
  std::vector<std::string> dns_names, ip_addresses;
  std::optional<PublicKey> key;  // always set once parsed
};

struct RequestData {
  Bytes der;
  std::string pem;
  std::string subject_cn, subject_o;
  std::optional<PublicKey> key;  // always set once parsed
};

}  // namespace internal

namespace {

using internal::CertificateData;
using internal::OpenSslError;
using internal::RequestData;
using internal::X509Ptr;

using BnPtr = std::unique_ptr<BIGNUM, internal::Deleter<BN_free>>;
using Asn1TimePtr =
    std::unique_ptr<ASN1_TIME, internal::Deleter<ASN1_TIME_free>>;
using GeneralNamesPtr =
    std::unique_ptr<GENERAL_NAMES, internal::Deleter<GENERAL_NAMES_free>>;
using StorePtr =
    std::unique_ptr<X509_STORE, internal::Deleter<X509_STORE_free>>;
using StoreCtxPtr =
    std::unique_ptr<X509_STORE_CTX, internal::Deleter<X509_STORE_CTX_free>>;
void FreeX509Stack(STACK_OF(X509) * stack) { sk_X509_free(stack); }
using X509StackPtr =
    std::unique_ptr<STACK_OF(X509), internal::Deleter<FreeX509Stack>>;
void FreeOpenSslString(char* p) { OPENSSL_free(p); }
using OpenSslStringPtr =
    std::unique_ptr<char, internal::Deleter<FreeOpenSslString>>;

absl::StatusOr<int64_t> UnixSeconds(const ASN1_TIME* time) {
  Asn1TimePtr epoch(ASN1_TIME_set(nullptr, 0));
  if (epoch == nullptr) return OpenSslError("ASN1_TIME_set");
  int days = 0;
  int seconds = 0;
  if (time == nullptr ||
      ASN1_TIME_diff(&days, &seconds, epoch.get(), time) != 1) {
    internal::ClearOpenSslErrors();
    return absl::InvalidArgumentError("certificate has a malformed validity");
  }
  return int64_t{days} * 86400 + seconds;
}

absl::StatusOr<std::string> SerialHex(const ASN1_INTEGER* serial) {
  BnPtr bn(ASN1_INTEGER_to_BN(serial, nullptr));
  if (bn == nullptr) return OpenSslError("ASN1_INTEGER_to_BN");
  OpenSslStringPtr hex(BN_bn2hex(bn.get()));
  if (hex == nullptr) return OpenSslError("BN_bn2hex");
  std::string out(hex.get());
  for (char& c : out) c = static_cast<char>(std::tolower(c));
  return out;
}

// DNS names and IP addresses from subjectAltName; other kinds are skipped.
absl::Status ReadAltNames(X509* x509, CertificateData& data) {
  int critical = 0;
  GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(x509, NID_subject_alt_name, &critical, nullptr)));
  if (names == nullptr) {
    internal::ClearOpenSslErrors();
    if (critical == -1) return absl::OkStatus();  // no extension
    return absl::InvalidArgumentError("certificate has a malformed SAN");
  }
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type == GEN_DNS) {
      const ASN1_IA5STRING* dns = name->d.dNSName;
      data.dns_names.emplace_back(
          reinterpret_cast<const char*>(ASN1_STRING_get0_data(dns)),
          static_cast<size_t>(ASN1_STRING_length(dns)));
    } else if (name->type == GEN_IPADD) {
      const ASN1_OCTET_STRING* ip = name->d.iPAddress;
      const int len = ASN1_STRING_length(ip);
      char text[INET6_ADDRSTRLEN] = {};
      if ((len != 4 && len != 16) ||
          inet_ntop(len == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(ip),
                    text, sizeof(text)) == nullptr) {
        return absl::InvalidArgumentError(
            "certificate has a malformed IP address in its SAN");
      }
      data.ip_addresses.emplace_back(text);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<PublicKey> KeyOf(const X509_PUBKEY* spki) {
  absl::StatusOr<Bytes> der =
      internal::ToDerBytes<X509_PUBKEY, i2d_X509_PUBKEY>(spki, "SPKI");
  if (!der.ok()) {
    return absl::InvalidArgumentError("malformed subject public key");
  }
  absl::StatusOr<PublicKey> key = PublicKey::FromDer(*der);
  if (!key.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("subject public key: ", key.status().message()));
  }
  return key;
}

absl::StatusOr<std::shared_ptr<const CertificateData>> ReadCertificate(
    X509Ptr x509) {
  X509* x = x509.get();
  // Caches the parsed extensions now, while this thread owns the object.
  X509_check_purpose(x, -1, 0);
  const uint32_t flags = X509_get_extension_flags(x);
  if ((flags & EXFLAG_INVALID) != 0) {
    internal::ClearOpenSslErrors();
    return absl::InvalidArgumentError("certificate has invalid extensions");
  }
  auto data = std::make_shared<CertificateData>();
  COFFER_ASSIGN_OR_RETURN(
      data->der, (internal::ToDerBytes<X509, i2d_X509>(x, "i2d_X509")));
  COFFER_ASSIGN_OR_RETURN(data->pem,
                          internal::PemEncode("CERTIFICATE", data->der));
  data->subject_cn =
      internal::NameEntry(X509_get_subject_name(x), NID_commonName);
  data->subject_o =
      internal::NameEntry(X509_get_subject_name(x), NID_organizationName);
  data->issuer_cn =
      internal::NameEntry(X509_get_issuer_name(x), NID_commonName);
  COFFER_ASSIGN_OR_RETURN(data->serial_hex,
                          SerialHex(X509_get0_serialNumber(x)));
  COFFER_ASSIGN_OR_RETURN(data->not_before,
                          UnixSeconds(X509_get0_notBefore(x)));
  COFFER_ASSIGN_OR_RETURN(data->not_after, UnixSeconds(X509_get0_notAfter(x)));
  data->is_ca = (flags & EXFLAG_CA) != 0;
  data->path_length = data->is_ca ? static_cast<int>(X509_get_pathlen(x)) : -1;
  if ((flags & EXFLAG_XKUSAGE) != 0) {
    const uint32_t xku = X509_get_extended_key_usage(x);
    data->server_auth = (xku & XKU_SSL_SERVER) != 0;
    data->client_auth = (xku & XKU_SSL_CLIENT) != 0;
  }
  COFFER_RETURN_IF_ERROR(ReadAltNames(x, *data));
  COFFER_ASSIGN_OR_RETURN(data->key, KeyOf(X509_get_X509_PUBKEY(x)));
  data->x509 = std::move(x509);
  return data;
}

}  // namespace

// ---- Certificate ----------------------------------------------------------

absl::StatusOr<Certificate> Certificate::FromDer(ByteView der) {
  if (!internal::FitsInt(der.size())) {
    return absl::InvalidArgumentError("certificate is too large");
  }
  const unsigned char* p = der.data();
  X509Ptr x509(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (x509 == nullptr || p != der.data() + der.size()) {
    internal::ClearOpenSslErrors();
    return absl::InvalidArgumentError(
        "not a DER X.509 certificate (or trailing bytes after it)");
  }
  COFFER_ASSIGN_OR_RETURN(std::shared_ptr<const CertificateData> data,
                          ReadCertificate(std::move(x509)));
  return Certificate(std::move(data));
}

absl::StatusOr<std::vector<Certificate>> Certificate::AllFromPem(
    std::string_view pem) {
  COFFER_ASSIGN_OR_RETURN(std::vector<internal::PemBlock> blocks,
                          internal::PemDecodeAll(pem));
  std::vector<Certificate> out;
  for (const internal::PemBlock& block : blocks) {
    if (block.label != "CERTIFICATE") {
      return absl::InvalidArgumentError(absl::StrCat(
          "expected PEM \"CERTIFICATE\" blocks; found \"", block.label, "\""));
    }
    COFFER_ASSIGN_OR_RETURN(Certificate cert, FromDer(block.der));
    out.push_back(std::move(cert));
  }
  return out;
}

absl::StatusOr<Certificate> Certificate::FromPem(std::string_view pem) {
  COFFER_ASSIGN_OR_RETURN(std::vector<Certificate> certs, AllFromPem(pem));
  if (certs.size() != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected one PEM certificate; found ", certs.size()));
  }
  return std::move(certs.front());
}

std::string Certificate::ToPem() const { return data_->pem; }
Bytes Certificate::ToDer() const { return data_->der; }
const std::string& Certificate::subject_common_name() const {
  return data_->subject_cn;
}
const std::string& Certificate::subject_organization() const {
  return data_->subject_o;
}
const std::string& Certificate::issuer_common_name() const {
  return data_->issuer_cn;
}
const std::string& Certificate::serial_hex() const { return data_->serial_hex; }
int64_t Certificate::not_before_unix() const { return data_->not_before; }
int64_t Certificate::not_after_unix() const { return data_->not_after; }
bool Certificate::is_ca() const { return data_->is_ca; }
int Certificate::ca_path_length() const { return data_->path_length; }
bool Certificate::tls_server_auth() const { return data_->server_auth; }
bool Certificate::tls_client_auth() const { return data_->client_auth; }
const std::vector<std::string>& Certificate::dns_names() const {
  return data_->dns_names;
}
const std::vector<std::string>& Certificate::ip_addresses() const {
  return data_->ip_addresses;
}
PublicKey Certificate::public_key() const { return *data_->key; }

// ---- CertificateRequest ---------------------------------------------------

absl::StatusOr<CertificateRequest> CertificateRequest::FromDer(ByteView der) {
  if (!internal::FitsInt(der.size())) {
    return absl::InvalidArgumentError("certificate request is too large");
  }
  const unsigned char* p = der.data();
  internal::X509ReqPtr req(
      d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size())));
  if (req == nullptr || p != der.data() + der.size()) {
    internal::ClearOpenSslErrors();
    return absl::InvalidArgumentError(
        "not a DER PKCS#10 certificate request (or trailing bytes after it)");
  }
  auto data = std::make_shared<RequestData>();
  COFFER_ASSIGN_OR_RETURN(data->key,
                          KeyOf(X509_REQ_get_X509_PUBKEY(req.get())));
  if (X509_REQ_verify(req.get(), internal::PkeyAccess::Get(*data->key)) != 1) {
    internal::ClearOpenSslErrors();
    return absl::DataLossError("certificate request signature does not verify");
  }
  COFFER_ASSIGN_OR_RETURN(data->der,
                          (internal::ToDerBytes<X509_REQ, i2d_X509_REQ>(
                              req.get(), "i2d_X509_REQ")));
  COFFER_ASSIGN_OR_RETURN(
      data->pem, internal::PemEncode("CERTIFICATE REQUEST", data->der));
  const X509_NAME* subject = X509_REQ_get_subject_name(req.get());
  data->subject_cn = internal::NameEntry(subject, NID_commonName);
  data->subject_o = internal::NameEntry(subject, NID_organizationName);
  return CertificateRequest(std::move(data));
}

absl::StatusOr<CertificateRequest> CertificateRequest::FromPem(
    std::string_view pem) {
  COFFER_ASSIGN_OR_RETURN(std::vector<internal::PemBlock> blocks,
                          internal::PemDecodeAll(pem));
  if (blocks.size() != 1 || (blocks[0].label != "CERTIFICATE REQUEST" &&
                             blocks[0].label != "NEW CERTIFICATE REQUEST")) {
    return absl::InvalidArgumentError(
        "expected exactly one PEM \"CERTIFICATE REQUEST\" block");
  }
  return FromDer(blocks[0].der);
}

std::string CertificateRequest::ToPem() const { return data_->pem; }
Bytes CertificateRequest::ToDer() const { return data_->der; }
const std::string& CertificateRequest::subject_common_name() const {
  return data_->subject_cn;
}
const std::string& CertificateRequest::subject_organization() const {
  return data_->subject_o;
}
PublicKey CertificateRequest::public_key() const { return *data_->key; }

// ---- Chains ---------------------------------------------------------------

absl::Status VerifyChain(const Certificate& leaf,
                         const std::vector<Certificate>& intermediates,
                         const std::vector<Certificate>& trust_anchors,
                         int64_t at_unix_time) {
  if (trust_anchors.empty()) {
    return absl::InvalidArgumentError("no trust anchors to verify against");
  }
  StorePtr store(X509_STORE_new());
  if (store == nullptr) return OpenSslError("X509_STORE_new");
  for (const Certificate& anchor : trust_anchors) {
    if (X509_STORE_add_cert(store.get(), anchor.data_->x509.get()) != 1) {
      return OpenSslError("X509_STORE_add_cert");
    }
  }
  // An anchor need not be self-signed: trusting an issuing CA is enough.
  X509_STORE_set_flags(store.get(), X509_V_FLAG_PARTIAL_CHAIN);
  X509StackPtr untrusted(sk_X509_new_null());
  if (untrusted == nullptr) return OpenSslError("sk_X509_new_null");
  for (const Certificate& cert : intermediates) {
    if (sk_X509_push(untrusted.get(), cert.data_->x509.get()) <= 0) {
      return OpenSslError("sk_X509_push");
    }
  }
  StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (ctx == nullptr ||
      X509_STORE_CTX_init(ctx.get(), store.get(), leaf.data_->x509.get(),
                          untrusted.get()) != 1) {
    return OpenSslError("X509_STORE_CTX_init");
  }
  X509_STORE_CTX_set_time(ctx.get(), 0, static_cast<time_t>(at_unix_time));
  const int rc = X509_verify_cert(ctx.get());
  const int error = X509_STORE_CTX_get_error(ctx.get());
  internal::ClearOpenSslErrors();
  if (rc == 1) return absl::OkStatus();
  if (rc < 0 || error == X509_V_OK) {
    return absl::InternalError("X509_verify_cert failed without a reason");
  }
  return absl::DataLossError(
      absl::StrCat("certificate chain does not verify at depth ",
                   X509_STORE_CTX_get_error_depth(ctx.get()), ": ",
                   X509_verify_cert_error_string(error)));
}

}  // namespace coffer::crypto
