// Building and signing certificates and requests (declared in x509.h). Every
// result is re-parsed through FromDer, so it obeys the same rules as a
// certificate read from outside.
#include <arpa/inet.h>
#include <openssl/bn.h>
#include <openssl/x509v3.h>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "crypto/internal/pkey_access.h"
#include "crypto/internal/x509_util.h"
#include "crypto/random.h"
#include "crypto/x509.h"

namespace coffer::crypto {
namespace {

using internal::OpenSslError;
using internal::PkeyAccess;
using internal::X509Ptr;

constexpr int64_t kMaxUnixTime = 253402300799;  // 9999-12-31T23:59:59Z
constexpr size_t kMaxAltNames = 100;
constexpr size_t kMaxDnsName = 253;
constexpr size_t kMaxDnsLabel = 63;
constexpr size_t kSerialBytes = 16;  // 128 random bits, at most 17 DER bytes

using BnPtr = std::unique_ptr<BIGNUM, internal::Deleter<BN_free>>;
using ExtensionPtr =
    std::unique_ptr<X509_EXTENSION, internal::Deleter<X509_EXTENSION_free>>;
using GeneralNamePtr =
    std::unique_ptr<GENERAL_NAME, internal::Deleter<GENERAL_NAME_free>>;
using GeneralNamesPtr =
    std::unique_ptr<GENERAL_NAMES, internal::Deleter<GENERAL_NAMES_free>>;

bool IsLabelChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '-';
}

absl::Status CheckDnsName(const std::string& name) {
  std::string_view rest = name;
  if (rest.starts_with("*.")) rest.remove_prefix(2);
  bool ok = !rest.empty() && name.size() <= kMaxDnsName;
  size_t label = 0;  // length of the current label
  for (const char c : rest) {
    if (c == '.') {
      ok = ok && label > 0;
      label = 0;
    } else {
      ok = ok && IsLabelChar(c) && ++label <= kMaxDnsLabel;
    }
  }
  ok = ok && label > 0;
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", name,
                     "\" is not a DNS name (letters, digits, '-', '.'; an "
                     "optional \"*.\" prefix)"));
  }
  return absl::OkStatus();
}

absl::Status CheckSpec(const CertificateSpec& spec) {
  if (spec.not_before_unix < 0 || spec.not_after_unix > kMaxUnixTime ||
      spec.not_before_unix >= spec.not_after_unix) {
    return absl::InvalidArgumentError(absl::StrCat(
        "validity must satisfy 0 <= not_before < not_after <= ", kMaxUnixTime,
        "; got ", spec.not_before_unix, " to ", spec.not_after_unix));
  }
  const bool ca = spec.usage == CertificateUsage::kCertificateAuthority;
  if (spec.ca_path_length < -1 || (!ca && spec.ca_path_length != -1)) {
    return absl::InvalidArgumentError(
        "ca_path_length must be -1, or >= 0 for a certificate authority");
  }
  if (spec.dns_names.size() + spec.ip_addresses.size() > kMaxAltNames) {
    return absl::InvalidArgumentError(
        absl::StrCat("at most ", kMaxAltNames, " subject alternative names"));
  }
  for (const std::string& name : spec.dns_names) {
    COFFER_RETURN_IF_ERROR(CheckDnsName(name));
  }
  return absl::OkStatus();
}

absl::StatusOr<GeneralNamePtr> IpName(const std::string& text) {
  unsigned char ip[16] = {};
  int len = 0;
  if (text.find('\0') == std::string::npos) {
    if (inet_pton(AF_INET, text.c_str(), ip) == 1) len = 4;
    if (inet_pton(AF_INET6, text.c_str(), ip) == 1) len = 16;
  }
  if (len == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", text, "\" is not an IPv4 or IPv6 address"));
  }
  GeneralNamePtr name(GENERAL_NAME_new());
  ASN1_OCTET_STRING* octets = ASN1_OCTET_STRING_new();
  if (name == nullptr || octets == nullptr ||
      ASN1_OCTET_STRING_set(octets, ip, len) != 1) {
    ASN1_OCTET_STRING_free(octets);
    return OpenSslError("building an IP address name");
  }
  GENERAL_NAME_set0_value(name.get(), GEN_IPADD, octets);
  return name;
}

absl::StatusOr<GeneralNamePtr> DnsName(const std::string& text) {
  GeneralNamePtr name(GENERAL_NAME_new());
  ASN1_IA5STRING* ia5 = ASN1_IA5STRING_new();
  if (name == nullptr || ia5 == nullptr ||
      ASN1_STRING_set(ia5, text.data(), static_cast<int>(text.size())) != 1) {
    ASN1_IA5STRING_free(ia5);
    return OpenSslError("building a DNS name");
  }
  GENERAL_NAME_set0_value(name.get(), GEN_DNS, ia5);
  return name;
}

// Built from structures, not config strings, so no name can inject text.
absl::Status AddAltNames(X509* x509, const CertificateSpec& spec) {
  if (spec.dns_names.empty() && spec.ip_addresses.empty()) {
    return absl::OkStatus();
  }
  GeneralNamesPtr names(GENERAL_NAMES_new());
  if (names == nullptr) return OpenSslError("GENERAL_NAMES_new");
  auto push = [&](absl::StatusOr<GeneralNamePtr> name) -> absl::Status {
    if (!name.ok()) return name.status();
    if (sk_GENERAL_NAME_push(names.get(), name->get()) <= 0) {
      return OpenSslError("sk_GENERAL_NAME_push");
    }
    name->release();  // now owned by `names`
    return absl::OkStatus();
  };
  for (const std::string& dns : spec.dns_names) {
    COFFER_RETURN_IF_ERROR(push(DnsName(dns)));
  }
  for (const std::string& ip : spec.ip_addresses) {
    COFFER_RETURN_IF_ERROR(push(IpName(ip)));
  }
  if (X509_add1_ext_i2d(x509, NID_subject_alt_name, names.get(), 0,
                        X509V3_ADD_DEFAULT) != 1) {
    return OpenSslError("adding subjectAltName");
  }
  return absl::OkStatus();
}

// Adds an extension from OpenSSL's config syntax; `value` is a constant of
// ours, never caller text.
absl::Status AddExtension(X509* subject, X509* issuer, int nid,
                          const std::string& value) {
  X509V3_CTX ctx{};
  X509V3_set_ctx(&ctx, issuer, subject, nullptr, nullptr, 0);
  ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (ext == nullptr || X509_add_ext(subject, ext.get(), -1) != 1) {
    return OpenSslError(absl::StrCat("adding extension ", OBJ_nid2sn(nid)));
  }
  return absl::OkStatus();
}

absl::Status AddExtensions(X509* x509, X509* issuer,
                           const CertificateSpec& spec) {
  std::string basic = "critical,CA:FALSE";
  std::string key_usage = "critical,digitalSignature";
  std::string ext_key_usage;
  switch (spec.usage) {
    case CertificateUsage::kCertificateAuthority:
      basic = "critical,CA:TRUE";
      if (spec.ca_path_length >= 0) {
        absl::StrAppend(&basic, ",pathlen:", spec.ca_path_length);
      }
      key_usage = "critical,keyCertSign,cRLSign";
      break;
    case CertificateUsage::kTlsServer:
      ext_key_usage = "serverAuth";
      break;
    case CertificateUsage::kTlsClient:
      ext_key_usage = "clientAuth";
      break;
    case CertificateUsage::kTlsServerAndClient:
      ext_key_usage = "serverAuth,clientAuth";
      break;
    case CertificateUsage::kSigning:
      break;
  }
  COFFER_RETURN_IF_ERROR(
      AddExtension(x509, issuer, NID_basic_constraints, basic));
  COFFER_RETURN_IF_ERROR(AddExtension(x509, issuer, NID_key_usage, key_usage));
  if (!ext_key_usage.empty()) {
    COFFER_RETURN_IF_ERROR(
        AddExtension(x509, issuer, NID_ext_key_usage, ext_key_usage));
  }
  COFFER_RETURN_IF_ERROR(AddAltNames(x509, spec));
  // The subject key id first: a self-signed certificate's authority key id
  // copies it. An issuer without one is named by issuer name and serial.
  COFFER_RETURN_IF_ERROR(
      AddExtension(x509, issuer, NID_subject_key_identifier, "hash"));
  return AddExtension(x509, issuer, NID_authority_key_identifier,
                      issuer == x509 ? "keyid:always" : "keyid,issuer");
}

absl::Status SetRandomSerial(X509* x509) {
  BnPtr serial(BN_new());
  if (serial == nullptr) return OpenSslError("BN_new");
  do {
    COFFER_ASSIGN_OR_RETURN(Bytes bytes, RandomBytes(kSerialBytes));
    if (BN_bin2bn(bytes.data(), static_cast<int>(bytes.size()), serial.get()) ==
        nullptr) {
      return OpenSslError("BN_bin2bn");
    }
  } while (BN_is_zero(serial.get()));
  if (BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(x509)) ==
      nullptr) {
    return OpenSslError("BN_to_ASN1_INTEGER");
  }
  return absl::OkStatus();
}

// Builds and signs a certificate; `issuer` null means self-signed.
absl::StatusOr<Certificate> BuildAndSign(const PrivateKey& issuer_key,
                                         X509* issuer,
                                         const PublicKey& subject_key,
                                         const CertificateSpec& spec) {
  COFFER_RETURN_IF_ERROR(CheckSpec(spec));
  COFFER_ASSIGN_OR_RETURN(
      internal::X509NamePtr subject,
      internal::MakeName(spec.common_name, spec.organization));
  COFFER_ASSIGN_OR_RETURN(const EVP_MD* md,
                          internal::X509SigningDigest(issuer_key.algorithm()));
  X509Ptr x509(X509_new());
  if (x509 == nullptr) return OpenSslError("X509_new");
  X509* x = x509.get();
  if (issuer == nullptr) issuer = x;
  COFFER_RETURN_IF_ERROR(SetRandomSerial(x));
  if (X509_set_version(x, X509_VERSION_3) != 1 ||
      X509_set_subject_name(x, subject.get()) != 1 ||
      X509_set_issuer_name(x, X509_get_subject_name(issuer)) != 1 ||
      ASN1_TIME_set(X509_getm_notBefore(x),
                    static_cast<time_t>(spec.not_before_unix)) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(x),
                    static_cast<time_t>(spec.not_after_unix)) == nullptr ||
      X509_set_pubkey(x, PkeyAccess::Get(subject_key)) != 1) {
    return OpenSslError("building the certificate");
  }
  COFFER_RETURN_IF_ERROR(AddExtensions(x, issuer, spec));
  if (X509_sign(x, PkeyAccess::Get(issuer_key), md) <= 0) {
    return OpenSslError("signing the certificate");
  }
  COFFER_ASSIGN_OR_RETURN(
      Bytes der, (internal::ToDerBytes<X509, i2d_X509>(x, "i2d_X509")));
  return Certificate::FromDer(der);
}

}  // namespace

absl::StatusOr<Certificate> SelfSign(const PrivateKey& key,
                                     const CertificateSpec& spec) {
  return BuildAndSign(key, nullptr, key.public_key(), spec);
}

absl::StatusOr<Certificate> Issue(const PrivateKey& issuer_key,
                                  const Certificate& issuer_cert,
                                  const PublicKey& subject_key,
                                  const CertificateSpec& spec) {
  if (!issuer_cert.is_ca()) {
    return absl::InvalidArgumentError(
        absl::StrCat("issuer certificate \"", issuer_cert.subject_common_name(),
                     "\" is not a CA (basicConstraints cA is not TRUE)"));
  }
  // A private copy of the issuer, since OpenSSL's builders take X509*.
  const Bytes issuer_der = issuer_cert.ToDer();
  const unsigned char* p = issuer_der.data();
  X509Ptr issuer(d2i_X509(nullptr, &p, static_cast<long>(issuer_der.size())));
  if (issuer == nullptr) return OpenSslError("d2i_X509 (issuer)");
  if (EVP_PKEY_eq(X509_get0_pubkey(issuer.get()),
                  PkeyAccess::Get(issuer_key)) != 1) {
    internal::ClearOpenSslErrors();
    return absl::InvalidArgumentError(
        "issuer key does not match the issuer certificate's public key");
  }
  return BuildAndSign(issuer_key, issuer.get(), subject_key, spec);
}

absl::StatusOr<Certificate> Issue(const PrivateKey& issuer_key,
                                  const Certificate& issuer_cert,
                                  const CertificateRequest& request,
                                  CertificateSpec spec) {
  if (spec.common_name.empty())
    spec.common_name = request.subject_common_name();
  if (spec.organization.empty()) {
    spec.organization = request.subject_organization();
  }
  return Issue(issuer_key, issuer_cert, request.public_key(), spec);
}

absl::StatusOr<CertificateRequest> CertificateRequest::Create(
    const PrivateKey& key, std::string_view common_name,
    std::string_view organization) {
  COFFER_ASSIGN_OR_RETURN(internal::X509NamePtr subject,
                          internal::MakeName(common_name, organization));
  COFFER_ASSIGN_OR_RETURN(const EVP_MD* md,
                          internal::X509SigningDigest(key.algorithm()));
  internal::X509ReqPtr req(X509_REQ_new());
  if (req == nullptr ||
      X509_REQ_set_version(req.get(), X509_REQ_VERSION_1) != 1 ||
      X509_REQ_set_subject_name(req.get(), subject.get()) != 1 ||
      X509_REQ_set_pubkey(req.get(), PkeyAccess::Get(key)) != 1) {
    return OpenSslError("building the certificate request");
  }
  if (X509_REQ_sign(req.get(), PkeyAccess::Get(key), md) <= 0) {
    return OpenSslError("signing the certificate request");
  }
  COFFER_ASSIGN_OR_RETURN(Bytes der,
                          (internal::ToDerBytes<X509_REQ, i2d_X509_REQ>(
                              req.get(), "i2d_X509_REQ")));
  // Parsing checks the self-signature: a pairwise-consistency test.
  return FromDer(der);
}

}  // namespace coffer::crypto
