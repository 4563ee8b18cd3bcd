#include "crypto/internal/x509_util.h"

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "absl/strings/str_cat.h"

namespace coffer::crypto::internal {
namespace {

constexpr size_t kMaxNameBytes = 64;  // ub-common-name, ub-organization-name

absl::Status CheckNamePart(const char* what, std::string_view value) {
  if (value.size() > kMaxNameBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " must be at most ", kMaxNameBytes, " bytes; got ",
                     value.size()));
  }
  for (const char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " contains a control character"));
    }
  }
  return absl::OkStatus();
}

absl::Status AddEntry(X509_NAME* name, int nid, const char* what,
                      std::string_view value) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(value.data());
  if (X509_NAME_add_entry_by_NID(name, nid, MBSTRING_UTF8, bytes,
                                 static_cast<int>(value.size()), -1, 0) != 1) {
    ClearOpenSslErrors();
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is not valid UTF-8"));
  }
  return absl::OkStatus();
}

void FreeOpenSsl(void* p) { OPENSSL_free(p); }
using OpenSslCharPtr = std::unique_ptr<char, Deleter<FreeOpenSsl>>;
using OpenSslBytePtr = std::unique_ptr<unsigned char, Deleter<FreeOpenSsl>>;

}  // namespace

absl::StatusOr<const EVP_MD*> X509SigningDigest(KeyAlgorithm algorithm) {
  if (algorithm == KeyAlgorithm::kEd25519) return nullptr;
  const HashAlg hash =
      algorithm == KeyAlgorithm::kEcP384 ? HashAlg::kSha384 : HashAlg::kSha256;
  const EVP_MD* md = FetchDigest(hash);
  if (md == nullptr) return OpenSslError("fetching the signature digest");
  return md;
}

absl::StatusOr<X509NamePtr> MakeName(std::string_view common_name,
                                     std::string_view organization) {
  if (common_name.empty()) {
    return absl::InvalidArgumentError("the common name (CN) is empty");
  }
  if (absl::Status s = CheckNamePart("common name", common_name); !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckNamePart("organization", organization); !s.ok()) {
    return s;
  }
  X509NamePtr name(X509_NAME_new());
  if (name == nullptr) return OpenSslError("X509_NAME_new");
  if (!organization.empty()) {
    if (absl::Status s = AddEntry(name.get(), NID_organizationName,
                                  "organization", organization);
        !s.ok()) {
      return s;
    }
  }
  if (absl::Status s =
          AddEntry(name.get(), NID_commonName, "common name", common_name);
      !s.ok()) {
    return s;
  }
  return name;
}

std::string NameEntry(const X509_NAME* name, int nid) {
  const int index = X509_NAME_get_index_by_NID(name, nid, -1);
  if (index < 0) return "";
  const ASN1_STRING* data =
      X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  unsigned char* utf8 = nullptr;
  const int len = ASN1_STRING_to_UTF8(&utf8, data);
  OpenSslBytePtr owned(utf8);
  if (len < 0) {
    ClearOpenSslErrors();
    return "";
  }
  return std::string(reinterpret_cast<const char*>(utf8),
                     static_cast<size_t>(len));
}

absl::StatusOr<std::vector<PemBlock>> PemDecodeAll(std::string_view pem) {
  if (!FitsInt(pem.size())) {
    return absl::InvalidArgumentError("PEM input is too large");
  }
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return OpenSslError("BIO_new_mem_buf");
  std::vector<PemBlock> blocks;
  ClearOpenSslErrors();
  while (true) {
    char* name = nullptr;
    char* header = nullptr;
    unsigned char* data = nullptr;
    long len = 0;
    const int ok = PEM_read_bio(bio.get(), &name, &header, &data, &len);
    OpenSslCharPtr owned_name(name), owned_header(header);
    OpenSslBytePtr owned_data(data);
    if (ok != 1) {
      const unsigned long err = ERR_peek_last_error();
      ClearOpenSslErrors();
      // Running out of blocks is the normal end; anything else is damage.
      if (ERR_GET_LIB(err) == ERR_LIB_PEM &&
          ERR_GET_REASON(err) == PEM_R_NO_START_LINE && !blocks.empty()) {
        return blocks;
      }
      return absl::InvalidArgumentError(
          blocks.empty() ? "no well-formed PEM block found"
                         : "a PEM block after the first is malformed");
    }
    blocks.push_back({name, Bytes(data, data + len)});
  }
}

absl::StatusOr<std::string> PemEncode(const char* label, ByteView der) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio(bio.get(), label, "", der.data(),
                                      static_cast<long>(der.size())) <= 0) {
    return OpenSslError("PEM_write_bio");
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

}  // namespace coffer::crypto::internal
