// Streaming envelope encryption (envelope.h; byte layout in docs/archive.md).
#include "kms/envelope.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "crypto/aead.h"
#include "crypto/random.h"

namespace coffer::kms {
namespace {

using crypto::AesGcm;
using crypto::SecretBytes;

constexpr uint8_t kMagic[4] = {'C', 'F', 'E', 'V'};
constexpr uint8_t kVersion = 1;
constexpr size_t kFixedHeaderSize = 18;  // magic..wrapped_len
constexpr size_t kDataKeySize = 32;
constexpr size_t kNoncePrefixSize = 7;
constexpr size_t kTagSize = AesGcm::kTagSize;
constexpr uint64_t kMaxSegments = uint64_t{1} << 32;
constexpr char kKeyLabel[] = "coffer.envelope.v1";

// The aad under which the KMS wraps the data key: domain-separated from any
// other use of the same KMS key, and bound to the object's metadata.
Bytes KeyAad(ByteView metadata) {
  Bytes aad = LabelPrefix(kKeyLabel);
  aad.insert(aad.end(), metadata.begin(), metadata.end());
  return aad;
}

void PutBe(Bytes& out, uint64_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) {
    out.push_back(static_cast<uint8_t>(value >> (8 * i)));
  }
}

uint64_t GetBe(ByteView in) {
  uint64_t value = 0;
  for (uint8_t b : in) value = (value << 8) | b;
  return value;
}

Bytes SegmentNonce(ByteView prefix, uint64_t index, bool last) {
  Bytes nonce(prefix.begin(), prefix.end());
  PutBe(nonce, index, 4);
  nonce.push_back(last ? 1 : 0);
  return nonce;
}

absl::Status CheckSegmentSize(size_t size) {
  if (size >= kMinSegmentSize && size <= kMaxSegmentSize) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat("envelope segment size must be ", kMinSegmentSize, " to ",
                   kMaxSegmentSize, " bytes; got ", size));
}

absl::Status Refused() {
  return absl::FailedPreconditionError(
      "this envelope stream already failed or finished; start a new one");
}

}  // namespace

// ---------------------------------------------------------------- writer --

struct EnvelopeWriter::State {
  ByteSink sink;
  std::optional<AesGcm> aead;
  Bytes nonce_prefix;
  Bytes segment_aad;  // header || metadata
  size_t segment_size = 0;
  Bytes buffer;  // plaintext of the segment being filled
  uint64_t index = 0;
  bool done = false;  // finished or failed

  absl::Status Emit(bool last) {
    if (index >= kMaxSegments) {
      return absl::OutOfRangeError(
          "object too large for one envelope (2^32 segments)");
    }
    COFFER_ASSIGN_OR_RETURN(
        Bytes sealed,
        aead->EncryptWithIv(SegmentNonce(nonce_prefix, index, last), buffer,
                            segment_aad));
    ++index;
    buffer.clear();
    return sink(sealed);
  }
};

EnvelopeWriter::EnvelopeWriter(std::unique_ptr<State> state)
    : state_(std::move(state)) {}
EnvelopeWriter::~EnvelopeWriter() = default;

absl::StatusOr<std::unique_ptr<EnvelopeWriter>> EnvelopeWriter::Create(
    Kms& kms, const std::string& region, ByteView metadata, ByteSink sink,
    const EnvelopeOptions& options) {
  COFFER_RETURN_IF_ERROR(ValidateRegion(region));
  COFFER_RETURN_IF_ERROR(CheckSegmentSize(options.segment_size));
  auto state = std::make_unique<State>();
  state->sink = std::move(sink);
  state->segment_size = options.segment_size;
  COFFER_ASSIGN_OR_RETURN(SecretBytes data_key,
                          crypto::RandomSecret(kDataKeySize));
  COFFER_ASSIGN_OR_RETURN(state->nonce_prefix,
                          crypto::RandomBytes(kNoncePrefixSize));
  COFFER_ASSIGN_OR_RETURN(Bytes wrapped,
                          kms.WrapDataKey(region, data_key, KeyAad(metadata)));
  if (wrapped.empty() || wrapped.size() > 0xffff) {
    return absl::InternalError(
        absl::StrCat("the KMS returned a wrapped key of ", wrapped.size(),
                     " bytes; an envelope holds 1 to 65535"));
  }
  COFFER_ASSIGN_OR_RETURN(AesGcm aead, AesGcm::Create(std::move(data_key)));
  state->aead.emplace(std::move(aead));

  Bytes header(std::begin(kMagic), std::end(kMagic));
  header.push_back(kVersion);
  PutBe(header, options.segment_size, 4);
  header.insert(header.end(), state->nonce_prefix.begin(),
                state->nonce_prefix.end());
  PutBe(header, wrapped.size(), 2);
  header.insert(header.end(), wrapped.begin(), wrapped.end());
  state->segment_aad = header;
  state->segment_aad.insert(state->segment_aad.end(), metadata.begin(),
                            metadata.end());
  COFFER_RETURN_IF_ERROR(state->sink(header));
  state->buffer.reserve(options.segment_size);
  return std::unique_ptr<EnvelopeWriter>(new EnvelopeWriter(std::move(state)));
}

absl::Status EnvelopeWriter::Write(ByteView plaintext) {
  State& s = *state_;
  if (s.done) return Refused();
  while (!plaintext.empty()) {
    // A full buffer is emitted only once more data shows it is not last.
    if (s.buffer.size() == s.segment_size) {
      if (absl::Status status = s.Emit(false); !status.ok()) {
        s.done = true;
        return status;
      }
    }
    const size_t take =
        std::min(s.segment_size - s.buffer.size(), plaintext.size());
    s.buffer.insert(s.buffer.end(), plaintext.begin(),
                    plaintext.begin() + static_cast<ptrdiff_t>(take));
    plaintext.remove_prefix(take);
  }
  return absl::OkStatus();
}

absl::Status EnvelopeWriter::Finish() {
  if (state_->done) return Refused();
  state_->done = true;
  return state_->Emit(true);
}

// ---------------------------------------------------------------- reader --

struct EnvelopeReader::State {
  Kms* kms = nullptr;
  std::string region;
  Bytes metadata;
  ByteSink sink;
  Bytes header;  // collected until complete
  std::optional<AesGcm> aead;
  Bytes nonce_prefix;
  Bytes segment_aad;
  size_t segment_size = 0;
  Bytes pending;  // ciphertext of the segment being collected
  uint64_t index = 0;
  bool done = false;

  absl::Status TakeHeader(ByteView& data);
  absl::Status StartSegments();
  absl::Status Open(bool last);
  absl::Status Feed(ByteView data);
};

absl::Status EnvelopeReader::State::TakeHeader(ByteView& data) {
  size_t need = kFixedHeaderSize;
  if (header.size() >= kFixedHeaderSize) {
    need += GetBe(ByteView(header).subspan(16, 2));
  }
  const size_t take = std::min(need - header.size(), data.size());
  header.insert(header.end(), data.begin(),
                data.begin() + static_cast<ptrdiff_t>(take));
  data.remove_prefix(take);
  if (header.size() == kFixedHeaderSize) {
    const ByteView h(header);
    if (!std::equal(kMagic, kMagic + sizeof(kMagic), h.begin()) ||
        h[4] != kVersion) {
      return absl::DataLossError("not a version-1 Coffer envelope");
    }
    segment_size = GetBe(h.subspan(5, 4));
    if (!CheckSegmentSize(segment_size).ok() || GetBe(h.subspan(16, 2)) == 0) {
      return absl::DataLossError("envelope header is malformed");
    }
    return absl::OkStatus();
  }
  if (header.size() > kFixedHeaderSize && header.size() == need) {
    return StartSegments();
  }
  return absl::OkStatus();
}

absl::Status EnvelopeReader::State::StartSegments() {
  const ByteView h(header);
  COFFER_ASSIGN_OR_RETURN(
      SecretBytes data_key,
      kms->UnwrapDataKey(region, h.subspan(18), KeyAad(metadata)));
  if (data_key.size() != kDataKeySize) {
    return absl::DataLossError("envelope data key has the wrong size");
  }
  COFFER_ASSIGN_OR_RETURN(AesGcm gcm, AesGcm::Create(std::move(data_key)));
  aead.emplace(std::move(gcm));
  nonce_prefix.assign(h.begin() + 9, h.begin() + 9 + kNoncePrefixSize);
  segment_aad = header;
  segment_aad.insert(segment_aad.end(), metadata.begin(), metadata.end());
  pending.reserve(segment_size + kTagSize);
  return absl::OkStatus();
}

absl::Status EnvelopeReader::State::Open(bool last) {
  if (index >= kMaxSegments) {
    return absl::DataLossError("envelope has more than 2^32 segments");
  }
  absl::StatusOr<SecretBytes> plain = aead->DecryptWithIv(
      SegmentNonce(nonce_prefix, index, last), pending, segment_aad);
  if (!plain.ok()) {
    return absl::DataLossError(absl::StrCat(
        "envelope segment ", index,
        " failed authentication: the envelope was modified, truncated or "
        "reordered, or the metadata differs"));
  }
  ++index;
  pending.clear();
  return sink(plain->ExposeSecret());
}

absl::Status EnvelopeReader::State::Feed(ByteView data) {
  while (!data.empty()) {
    if (!aead.has_value()) {
      COFFER_RETURN_IF_ERROR(TakeHeader(data));
      continue;
    }
    // A full segment is opened as not-last only once more bytes follow it.
    const size_t full = segment_size + kTagSize;
    if (pending.size() == full) COFFER_RETURN_IF_ERROR(Open(false));
    const size_t take = std::min(full - pending.size(), data.size());
    pending.insert(pending.end(), data.begin(),
                   data.begin() + static_cast<ptrdiff_t>(take));
    data.remove_prefix(take);
  }
  return absl::OkStatus();
}

EnvelopeReader::EnvelopeReader(Kms& kms, std::string region, ByteView metadata,
                               ByteSink sink)
    : state_(std::make_unique<State>()) {
  state_->kms = &kms;
  state_->region = std::move(region);
  state_->metadata.assign(metadata.begin(), metadata.end());
  state_->sink = std::move(sink);
}
EnvelopeReader::~EnvelopeReader() = default;

absl::Status EnvelopeReader::Feed(ByteView ciphertext) {
  if (state_->done) return Refused();
  absl::Status status = state_->Feed(ciphertext);
  if (!status.ok()) state_->done = true;
  return status;
}

absl::Status EnvelopeReader::Finish() {
  State& s = *state_;
  if (s.done) return Refused();
  s.done = true;
  if (!s.aead.has_value()) {
    return absl::DataLossError("envelope truncated inside its header");
  }
  if (s.pending.size() < kTagSize) {
    return absl::DataLossError(
        absl::StrCat("envelope truncated: it ends before its last segment (",
                     s.index, " segments read)"));
  }
  return s.Open(true);
}

// --------------------------------------------------------------- helpers --

namespace {

absl::Status Pump(const ChunkSource& source,
                  const std::function<absl::Status(ByteView)>& consume) {
  while (true) {
    COFFER_ASSIGN_OR_RETURN(Bytes chunk, source());
    if (chunk.empty()) return absl::OkStatus();
    COFFER_RETURN_IF_ERROR(consume(chunk));
  }
}

}  // namespace

absl::Status EncryptStream(Kms& kms, const std::string& region,
                           ByteView metadata, const ChunkSource& source,
                           const ByteSink& sink,
                           const EnvelopeOptions& options) {
  COFFER_ASSIGN_OR_RETURN(
      std::unique_ptr<EnvelopeWriter> writer,
      EnvelopeWriter::Create(kms, region, metadata, sink, options));
  COFFER_RETURN_IF_ERROR(
      Pump(source, [&](ByteView chunk) { return writer->Write(chunk); }));
  return writer->Finish();
}

absl::Status DecryptStream(Kms& kms, const std::string& region,
                           ByteView metadata, const ChunkSource& source,
                           const ByteSink& sink) {
  COFFER_RETURN_IF_ERROR(ValidateRegion(region));
  EnvelopeReader reader(kms, region, metadata, sink);
  COFFER_RETURN_IF_ERROR(
      Pump(source, [&](ByteView chunk) { return reader.Feed(chunk); }));
  return reader.Finish();
}

absl::Status Reencrypt(const ReencryptParams& params, const ChunkSource& source,
                       const ByteSink& sink) {
  if (params.from_kms == nullptr || params.to_kms == nullptr) {
    return absl::InvalidArgumentError("Reencrypt needs both KMS handles");
  }
  COFFER_RETURN_IF_ERROR(ValidateRegion(params.from_region));
  COFFER_ASSIGN_OR_RETURN(
      std::unique_ptr<EnvelopeWriter> writer,
      EnvelopeWriter::Create(*params.to_kms, params.to_region,
                             params.to_metadata, sink, params.options));
  EnvelopeReader reader(*params.from_kms, params.from_region,
                        params.from_metadata,
                        [&](ByteView plain) { return writer->Write(plain); });
  COFFER_RETURN_IF_ERROR(
      Pump(source, [&](ByteView chunk) { return reader.Feed(chunk); }));
  // The last segment is written only after the source fully verified.
  COFFER_RETURN_IF_ERROR(reader.Finish());
  return writer->Finish();
}

}  // namespace coffer::kms
