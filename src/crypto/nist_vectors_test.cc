// Known-answer tests over NIST CAVP vectors as shipped by Debian's
// python3-cryptography-vectors package (testing::NistVectorsDir()):
//   keywrap/kwtestvectors/KW{,P}_A{E,D}_{128,192,256}.txt  SP 800-38F KW/KWP
//   keywrap/kwp_botan.txt                                RFC 5649 + edge cases
//   KDF/nist-800-108-KBKDF-CTR.txt                       SP 800-108 counter KDF
// Every vector of these files runs (or, for the KDF, is counted as not
// expressible); a missing file or one without vectors fails the test. Each
// TEST prints one "[vectors]" summary line so `ctest -V` shows the coverage.
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "base/bytes.h"
#include "base/status.h"
#include "crypto/kdf.h"
#include "crypto/key_wrap.h"
#include "crypto/secret_bytes.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"
#include "testing/test_files.h"

namespace coffer::crypto {
namespace {

using ::coffer::testing::IsOk;

// One COUNT block of a CAVS response file, with the section attributes
// ("[PRF=HMAC_SHA256]", "[PLAINTEXT LENGTH = 128]", "[KWP]") in force there.
struct CavsRecord {
  std::map<std::string, std::string> section;
  std::map<std::string, std::string> fields;  // a bare "FAIL" maps to ""
  int line = 0;                               // of the COUNT line

  bool Has(const std::string& key) const { return fields.contains(key); }
  const std::string& Field(const std::string& key) const {
    return ValueOr(fields, key);
  }
  const std::string& Attribute(const std::string& key) const {
    return ValueOr(section, key);
  }
  // "KW_AD_128.txt [PLAINTEXT LENGTH=128] COUNT=7 (line 60)".
  std::string Where(const std::string& file) const {
    std::string where = file + " ";
    for (const auto& [key, value] : section) {
      absl::StrAppend(&where, "[", key, value.empty() ? "" : "=", value, "]");
    }
    absl::StrAppend(&where, " COUNT=", Field("COUNT"), " (line ", line, ")");
    return where;
  }

 private:
  static const std::string& ValueOr(
      const std::map<std::string, std::string>& map, const std::string& key) {
    static const std::string* const kEmpty = new std::string();
    auto it = map.find(key);
    return it == map.end() ? *kEmpty : it->second;
  }
};

// "key = value" -> {key, value}; a bare word -> {word, ""}.
std::pair<std::string, std::string> SplitAssignment(absl::string_view line) {
  std::pair<absl::string_view, absl::string_view> parts =
      absl::StrSplit(line, absl::MaxSplits('=', 1));
  return {std::string(absl::StripAsciiWhitespace(parts.first)),
          std::string(absl::StripAsciiWhitespace(parts.second))};
}

// Splits a CAVS file into records, each starting at a COUNT line. Comments
// and blank lines are skipped; LF and CRLF line ends both work.
std::vector<CavsRecord> ParseCavs(absl::string_view text) {
  std::vector<CavsRecord> records;
  std::map<std::string, std::string> section;
  int line_number = 0;
  for (absl::string_view raw : absl::StrSplit(text, '\n')) {
    ++line_number;
    absl::string_view line = absl::StripAsciiWhitespace(raw);
    if (line.empty() || line.front() == '#') continue;
    if (line.front() == '[' && line.back() == ']') {
      auto [key, value] = SplitAssignment(line.substr(1, line.size() - 2));
      section[key] = value;
      continue;
    }
    auto [key, value] = SplitAssignment(line);
    if (key == "COUNT") records.push_back({section, {}, line_number});
    if (!records.empty()) records.back().fields[key] = value;
  }
  return records;
}

// Reads and parses `relative_path` under NistVectorsDir(); fails the test if
// the file is missing or holds no vectors. Use with ASSERT_NO_FATAL_FAILURE.
void LoadCavs(const std::string& relative_path,
              std::vector<CavsRecord>* records) {
  const std::string path =
      absl::StrCat(::coffer::testing::NistVectorsDir(), "/", relative_path);
  absl::StatusOr<std::string> text = ::coffer::testing::ReadTestFile(path);
  ASSERT_THAT(text, IsOk());
  *records = ParseCavs(*text);
  ASSERT_FALSE(records->empty()) << path << " holds no test vectors";
}

// Reports the first few failing vectors in full and counts the rest, so a
// broken primitive gives a readable failure instead of thousands of lines.
class Mismatches {
 public:
  static constexpr int kMaxShown = 10;

  void Check(const std::string& where, const absl::Status& status) {
    if (status.ok()) return;
    if (++count_ <= kMaxShown) ADD_FAILURE() << where << ": " << status;
  }
  int count() const { return count_; }

 private:
  int count_ = 0;
};

std::string Abbreviated(ByteView bytes) {
  std::string hex = HexEncode(bytes);
  if (hex.size() > 64) hex = absl::StrCat(hex.substr(0, 64), "...");
  return absl::StrCat(hex, " (", bytes.size(), " bytes)");
}

// OK if equal, else a status naming `what` and both values (public vectors).
absl::Status ExpectBytes(absl::string_view what, ByteView got, ByteView want) {
  if (got == want) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(
      what, " mismatch: got ", Abbreviated(got), ", want ", Abbreviated(want)));
}

// Prefixes a failed operation's status with the operation's name.
template <typename T>
absl::StatusOr<T> In(absl::string_view operation, absl::StatusOr<T> result) {
  if (result.ok()) return result;
  return absl::Status(result.status().code(),
                      absl::StrCat(operation, ": ", result.status().message()));
}

absl::StatusOr<Bytes> HexField(const CavsRecord& record,
                               const std::string& key) {
  if (!record.Has(key)) {
    return absl::InvalidArgumentError(
        absl::StrCat("vector has no \"", key, "\" line"));
  }
  return In(absl::StrCat("hex of ", key), HexDecode(record.Field(key)));
}

// ---------------------------------------------------------------------------
// Key wrap (SP 800-38F).

struct KeyWrapFields {
  const char* key;
  const char* plaintext;
  const char* wrapped;
};
constexpr KeyWrapFields kNistKeyWrapFields = {"K", "P", "C"};
constexpr KeyWrapFields kBotanKeyWrapFields = {"Key", "Input", "Output"};

// Wrap(plaintext) == wrapped and Unwrap(wrapped) == plaintext; for a vector
// marked FAIL, Unwrap must fail with DataLoss or InvalidArgument.
absl::Status CheckKeyWrap(const CavsRecord& record, KeyWrapMode mode,
                          const KeyWrapFields& names) {
  COFFER_ASSIGN_OR_RETURN(Bytes key, HexField(record, names.key));
  COFFER_ASSIGN_OR_RETURN(Bytes wrapped, HexField(record, names.wrapped));
  COFFER_ASSIGN_OR_RETURN(
      AesKeyWrap wrap,
      In("Create", AesKeyWrap::Create(mode, SecretBytes::CopyOf(key))));
  if (record.Has("FAIL")) {
    absl::StatusOr<SecretBytes> unwrapped = wrap.Unwrap(wrapped);
    if (unwrapped.ok()) {
      return absl::InternalError("Unwrap accepted a vector marked FAIL");
    }
    const absl::StatusCode code = unwrapped.status().code();
    if (code != absl::StatusCode::kDataLoss &&
        code != absl::StatusCode::kInvalidArgument) {
      return absl::InternalError(absl::StrCat(
          "Unwrap of a FAIL vector should give DataLoss or InvalidArgument, "
          "got ",
          unwrapped.status().ToString()));
    }
    return absl::OkStatus();
  }
  COFFER_ASSIGN_OR_RETURN(Bytes plaintext, HexField(record, names.plaintext));
  COFFER_ASSIGN_OR_RETURN(Bytes got_wrapped, In("Wrap", wrap.Wrap(plaintext)));
  COFFER_RETURN_IF_ERROR(ExpectBytes("Wrap output", got_wrapped, wrapped));
  COFFER_ASSIGN_OR_RETURN(SecretBytes got_plain,
                          In("Unwrap", wrap.Unwrap(wrapped)));
  return ExpectBytes("Unwrap output", got_plain.ExposeSecret(), plaintext);
}

TEST(NistVectorsTest, AesKeyWrapSp80038f) {
  constexpr std::pair<const char*, KeyWrapMode> kModes[] = {
      {"KW", KeyWrapMode::kKw}, {"KWP", KeyWrapMode::kKwp}};
  Mismatches mismatches;
  int files = 0;
  int checked = 0;
  int expected_failures = 0;
  for (const auto& [prefix, mode] : kModes) {
    for (const char* direction : {"AE", "AD"}) {
      for (int bits : {128, 192, 256}) {
        const std::string name =
            absl::StrCat(prefix, "_", direction, "_", bits, ".txt");
        std::vector<CavsRecord> records;
        ASSERT_NO_FATAL_FAILURE(
            LoadCavs("keywrap/kwtestvectors/" + name, &records));
        ++files;
        for (const CavsRecord& record : records) {
          ++checked;
          if (record.Has("FAIL")) ++expected_failures;
          mismatches.Check(record.Where(name),
                           CheckKeyWrap(record, mode, kNistKeyWrapFields));
        }
      }
    }
  }
  std::printf(
      "[vectors] NIST KW/KWP: %d checked (%d expected failures) from %d "
      "files\n",
      checked, expected_failures, files);
  std::fflush(stdout);
  // NIST's set is frozen: 500 vectors per file, 100 FAIL per AD file.
  EXPECT_EQ(checked, 6000);
  EXPECT_EQ(expected_failures, 600);
  EXPECT_EQ(mismatches.count(), 0)
      << "vectors failed (at most " << Mismatches::kMaxShown << " shown)";
}

TEST(NistVectorsTest, AesKeyWrapPaddedBotan) {
  const std::string name = "keywrap/kwp_botan.txt";
  std::vector<CavsRecord> records;
  ASSERT_NO_FATAL_FAILURE(LoadCavs(name, &records));
  Mismatches mismatches;
  int checked = 0;
  for (const CavsRecord& record : records) {
    EXPECT_TRUE(record.section.contains("KWP"))
        << record.Where(name) << ": outside the [KWP] section";
    ++checked;
    mismatches.Check(record.Where(name), CheckKeyWrap(record, KeyWrapMode::kKwp,
                                                      kBotanKeyWrapFields));
  }
  std::printf("[vectors] KWP %s (RFC 5649 + OpenSSL edge cases): %d checked\n",
              name.c_str(), checked);
  std::fflush(stdout);
  EXPECT_GT(checked, 0);
  EXPECT_EQ(mismatches.count(), 0)
      << "vectors failed (at most " << Mismatches::kMaxShown << " shown)";
}

// ---------------------------------------------------------------------------
// SP 800-108 counter-mode KBKDF.

// The PRFs our KDF offers; CMAC_TDES2/TDES3 are not among them.
std::optional<KbkdfPrf> PrfFromName(std::string_view name) {
  static constexpr std::pair<std::string_view, KbkdfPrf> kPrfs[] = {
      {"HMAC_SHA1", KbkdfPrf::kHmacSha1},
      {"HMAC_SHA224", KbkdfPrf::kHmacSha224},
      {"HMAC_SHA256", KbkdfPrf::kHmacSha256},
      {"HMAC_SHA384", KbkdfPrf::kHmacSha384},
      {"HMAC_SHA512", KbkdfPrf::kHmacSha512},
      {"CMAC_AES128", KbkdfPrf::kCmacAes},
      {"CMAC_AES192", KbkdfPrf::kCmacAes},
      {"CMAC_AES256", KbkdfPrf::kCmacAes},
  };
  for (const auto& [prf_name, prf] : kPrfs) {
    if (prf_name == name) return prf;
  }
  return std::nullopt;
}

// OpenSSL 3.0's KBKDF has a fixed 32-bit counter placed before the fixed
// data, so only those sections (with a PRF we offer) can be run.
bool Expressible(const CavsRecord& record) {
  return PrfFromName(record.Attribute("PRF")).has_value() &&
         record.Attribute("CTRLOCATION") == "BEFORE_FIXED" &&
         record.Attribute("RLEN") == "32_BITS";
}

// The vectors' fixed input is opaque, so it goes in whole as the label with
// the separator and [L] turned off.
absl::Status CheckKbkdf(const CavsRecord& record, KbkdfPrf prf) {
  COFFER_ASSIGN_OR_RETURN(Bytes key, HexField(record, "KI"));
  COFFER_ASSIGN_OR_RETURN(Bytes fixed, HexField(record, "FixedInputData"));
  COFFER_ASSIGN_OR_RETURN(Bytes want, HexField(record, "KO"));
  size_t bits = 0;
  if (!absl::SimpleAtoi(record.Field("L"), &bits) || bits == 0 ||
      bits % 8 != 0 || bits / 8 != want.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("L = \"", record.Field("L"), "\" disagrees with KO"));
  }
  const KbkdfOptions options = {
      .prf = prf, .use_separator = false, .use_length = false};
  COFFER_ASSIGN_OR_RETURN(
      SecretBytes got,
      In("KbkdfCounter",
         KbkdfCounter(SecretBytes::CopyOf(key), fixed, {}, bits / 8, options)));
  return ExpectBytes("KO", got.ExposeSecret(), want);
}

TEST(NistVectorsTest, Sp800108KbkdfCounter) {
  const std::string name = "KDF/nist-800-108-KBKDF-CTR.txt";
  std::vector<CavsRecord> records;
  ASSERT_NO_FATAL_FAILURE(LoadCavs(name, &records));
  Mismatches mismatches;
  std::map<std::string, int> checked_per_prf;
  int checked = 0;
  int not_expressible = 0;
  for (const CavsRecord& record : records) {
    if (!Expressible(record)) {
      ++not_expressible;
      continue;
    }
    ++checked;
    ++checked_per_prf[record.Attribute("PRF")];
    mismatches.Check(record.Where(name),
                     CheckKbkdf(record, *PrfFromName(record.Attribute("PRF"))));
  }
  std::printf(
      "[vectors] NIST SP 800-108 KBKDF counter: %d checked, %d not "
      "expressible in OpenSSL 3.0 KBKDF (counter location/width, TDES)\n",
      checked, not_expressible);
  std::fflush(stdout);
  // 10 PRFs x 3 counter locations x 4 counter widths x 40 vectors; we run
  // the 8 PRFs we offer with a 32-bit counter before the fixed data.
  EXPECT_EQ(checked_per_prf.size(), 8u);
  for (const auto& [prf, count] : checked_per_prf) {
    EXPECT_EQ(count, 40) << "PRF=" << prf;
  }
  EXPECT_EQ(checked, 320);
  EXPECT_EQ(not_expressible, 4480);
  EXPECT_EQ(mismatches.count(), 0)
      << "vectors failed (at most " << Mismatches::kMaxShown << " shown)";
}

}  // namespace
}  // namespace coffer::crypto
