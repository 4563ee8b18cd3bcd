// Streaming envelopes: round trips in random chunkings, and every way of
// damaging an envelope (bit flips, truncation, segment surgery, metadata).
#include "kms/envelope.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace coffer::kms {
namespace {

using ::coffer::testing::IsOk;
using ::coffer::testing::StatusIs;
using ::coffer::testing::TempDir;

constexpr size_t kSmallSegment = 64;
constexpr size_t kSegmentOverhead = 16;

uint64_t Seed() {
  static const uint64_t seed = [] {
    const char* env = std::getenv("COFFER_TEST_SEED");
    return env != nullptr ? std::strtoull(env, nullptr, 10)
                          : std::random_device()();
  }();
  return seed;
}

class EnvelopeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto kms = OpenLocalKeyring(dir_.path());
    ASSERT_THAT(kms, IsOk());
    kms_ = *std::move(kms);
    ASSERT_THAT(kms_->CreateKey("home"), IsOk());
    ASSERT_THAT(kms_->CreateKey("away"), IsOk());
    RecordProperty("seed", std::to_string(Seed()));
  }

  // Feeds `data` to a source in chunks of random sizes (0 ends a source, so
  // sizes are 1..max).
  ChunkSource Chunked(const Bytes& data, size_t max_chunk) {
    auto pos = std::make_shared<size_t>(0);
    return [this, &data, pos, max_chunk]() -> absl::StatusOr<Bytes> {
      const size_t n =
          std::min(data.size() - *pos,
                   std::uniform_int_distribution<size_t>(1, max_chunk)(rng_));
      Bytes chunk(data.begin() + static_cast<ptrdiff_t>(*pos),
                  data.begin() + static_cast<ptrdiff_t>(*pos + n));
      *pos += n;
      return chunk;
    };
  }

  absl::StatusOr<Bytes> Encrypt(const Bytes& plain, ByteView metadata,
                                size_t segment = kSmallSegment,
                                const std::string& region = "home") {
    Bytes out;
    absl::Status s =
        EncryptStream(*kms_, region, metadata, Chunked(plain, 3 * segment + 7),
                      [&](ByteView c) {
                        out.insert(out.end(), c.begin(), c.end());
                        return absl::OkStatus();
                      },
                      {.segment_size = segment});
    if (!s.ok()) return s;
    return out;
  }

  absl::StatusOr<Bytes> Decrypt(const Bytes& envelope, ByteView metadata,
                                const std::string& region = "home") {
    Bytes out;
    absl::Status s = DecryptStream(*kms_, region, metadata,
                                   Chunked(envelope, 1000), [&](ByteView c) {
                                     out.insert(out.end(), c.begin(), c.end());
                                     return absl::OkStatus();
                                   });
    if (!s.ok()) return s;
    return out;
  }

  Bytes RandomData(size_t n) {
    Bytes data(n);
    for (uint8_t& b : data) b = static_cast<uint8_t>(rng_());
    return data;
  }

  TempDir dir_;
  std::unique_ptr<Kms> kms_;
  std::mt19937_64 rng_{Seed()};
};

size_t HeaderSize(const Bytes& envelope) {
  return 18 + (size_t{envelope[16]} << 8) + envelope[17];
}

TEST_F(EnvelopeTest, RoundTripsAtEverySizeEdge) {
  const Bytes meta = {'b', 'k', '1'};
  for (size_t segment : {kSmallSegment, size_t{1000}, kDefaultSegmentSize}) {
    for (size_t size : {size_t{0}, size_t{1}, segment - 1, segment, segment + 1,
                        2 * segment, 5 * segment + 3}) {
      const Bytes plain = RandomData(size);
      auto envelope = Encrypt(plain, meta, segment);
      ASSERT_THAT(envelope, IsOk());
      const size_t segments =
          size / segment + 1 - (size > 0 && size % segment == 0);
      EXPECT_EQ(envelope->size(),
                HeaderSize(*envelope) + size + segments * kSegmentOverhead);
      auto back = Decrypt(*envelope, meta);
      ASSERT_THAT(back, IsOk())
          << "segment " << segment << " size " << size << " seed " << Seed();
      EXPECT_EQ(*back, plain);
    }
  }
}

TEST_F(EnvelopeTest, SeveralMebibytesInRandomChunks) {
  const Bytes plain = RandomData((size_t{5} << 20) + 12345);
  auto envelope = Encrypt(plain, {}, kDefaultSegmentSize);
  ASSERT_THAT(envelope, IsOk());
  auto back = Decrypt(*envelope, {});
  ASSERT_THAT(back, IsOk()) << "seed " << Seed();
  EXPECT_TRUE(*back == plain);
}

TEST_F(EnvelopeTest, EveryBitFlipFails) {
  const Bytes meta = {'m'};
  const Bytes envelope = *Encrypt(RandomData(150), meta);  // 3 segments
  for (size_t bit = 0; bit < envelope.size() * 8; ++bit) {
    Bytes bad = envelope;
    bad[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    ASSERT_FALSE(Decrypt(bad, meta).ok()) << "bit " << bit;
  }
}

TEST_F(EnvelopeTest, TruncationAnywhereFails) {
  const Bytes envelope = *Encrypt(RandomData(4 * kSmallSegment), {});
  for (size_t len = 0; len < envelope.size(); ++len) {
    Bytes cut(envelope.begin(), envelope.begin() + static_cast<ptrdiff_t>(len));
    EXPECT_THAT(Decrypt(cut, {}), StatusIs(absl::StatusCode::kDataLoss))
        << "length " << len;
  }
  Bytes longer = envelope;
  longer.push_back(0);
  EXPECT_THAT(Decrypt(longer, {}), StatusIs(absl::StatusCode::kDataLoss));
}

TEST_F(EnvelopeTest, SegmentSurgeryFails) {
  const Bytes envelope = *Encrypt(RandomData(3 * kSmallSegment + 10), {});
  const size_t header = HeaderSize(envelope);
  const size_t seg = kSmallSegment + kSegmentOverhead;
  auto segment = [&](size_t i) {
    const size_t begin = header + i * seg;
    return Bytes(envelope.begin() + static_cast<ptrdiff_t>(begin),
                 envelope.begin() + static_cast<ptrdiff_t>(std::min(
                                        begin + seg, envelope.size())));
  };
  auto build = [&](std::vector<size_t> order) {
    Bytes out(envelope.begin(),
              envelope.begin() + static_cast<ptrdiff_t>(header));
    for (size_t i : order) {
      const Bytes s = segment(i);
      out.insert(out.end(), s.begin(), s.end());
    }
    return out;
  };
  ASSERT_THAT(Decrypt(build({0, 1, 2, 3}), {}), IsOk());
  for (const std::vector<size_t>& order :
       std::vector<std::vector<size_t>>{{1, 0, 2, 3},
                                        {0, 2, 1, 3},
                                        {0, 1, 3},
                                        {0, 1, 2},
                                        {1, 2, 3},
                                        {0, 0, 1, 2, 3},
                                        {0, 1, 2, 2, 3},
                                        {0, 1, 2, 3, 3}}) {
    EXPECT_THAT(Decrypt(build(order), {}),
                StatusIs(absl::StatusCode::kDataLoss));
  }
  // A segment of another envelope (same key ring, other data key) fails too.
  const Bytes other = *Encrypt(RandomData(3 * kSmallSegment + 10), {});
  Bytes spliced = build({0});
  spliced.insert(spliced.end(),
                 other.begin() + static_cast<ptrdiff_t>(header + seg),
                 other.end());
  EXPECT_THAT(Decrypt(spliced, {}), StatusIs(absl::StatusCode::kDataLoss));
}

TEST_F(EnvelopeTest, WrongMetadataOrRegionFails) {
  const Bytes envelope = *Encrypt(RandomData(100), AsBytes("cluster-1"));
  EXPECT_THAT(Decrypt(envelope, AsBytes("cluster-2")),
              StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(Decrypt(envelope, {}), StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(Decrypt(envelope, AsBytes("cluster-1"), "away"),
              StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(Decrypt(envelope, AsBytes("cluster-1"), "gone"),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(EnvelopeTest, ReleasesOnlyVerifiedSegments) {
  const Bytes envelope = *Encrypt(RandomData(3 * kSmallSegment), {});
  Bytes bad = envelope;
  bad[HeaderSize(envelope) + kSmallSegment + kSegmentOverhead + 5] ^= 1;
  size_t released = 0;
  EnvelopeReader reader(*kms_, "home", {}, [&](ByteView c) {
    released += c.size();
    return absl::OkStatus();
  });
  EXPECT_THAT(reader.Feed(bad), StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_EQ(released, kSmallSegment);  // segment 0 only
  EXPECT_THAT(reader.Finish(), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(EnvelopeTest, ReencryptToAnotherRegion) {
  const Bytes plain = RandomData(10 * kSmallSegment + 3);
  const Bytes envelope = *Encrypt(plain, AsBytes("src"));
  Bytes copy;
  ReencryptParams params{.from_kms = kms_.get(),
                         .from_region = "home",
                         .from_metadata = Bytes{'s', 'r', 'c'},
                         .to_kms = kms_.get(),
                         .to_region = "away",
                         .to_metadata = Bytes{'d', 's', 't'},
                         .options = {.segment_size = 100}};
  ASSERT_THAT(Reencrypt(params, Chunked(envelope, 77),
                        [&](ByteView c) {
                          copy.insert(copy.end(), c.begin(), c.end());
                          return absl::OkStatus();
                        }),
              IsOk());
  EXPECT_THAT(Decrypt(copy, AsBytes("dst"), "away"), IsOk());
  EXPECT_EQ(*Decrypt(copy, AsBytes("dst"), "away"), plain);
  EXPECT_THAT(Decrypt(copy, AsBytes("dst"), "home"),
              StatusIs(absl::StatusCode::kDataLoss));

  // A damaged source never yields a complete copy.
  Bytes bad = envelope;
  bad.back() ^= 1;
  Bytes partial;
  EXPECT_THAT(Reencrypt(params, Chunked(bad, 77),
                        [&](ByteView c) {
                          partial.insert(partial.end(), c.begin(), c.end());
                          return absl::OkStatus();
                        }),
              StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(Decrypt(partial, AsBytes("dst"), "away"),
              StatusIs(absl::StatusCode::kDataLoss));
}

TEST_F(EnvelopeTest, BadOptionsAndUseAfterFinish) {
  auto sink = [](ByteView) { return absl::OkStatus(); };
  EXPECT_THAT(EnvelopeWriter::Create(*kms_, "home", {}, sink,
                                     {.segment_size = kMinSegmentSize - 1}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(EnvelopeWriter::Create(*kms_, "Home", {}, sink),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(EnvelopeWriter::Create(*kms_, "nokey", {}, sink),
              StatusIs(absl::StatusCode::kNotFound));
  auto writer = *EnvelopeWriter::Create(*kms_, "home", {}, sink);
  ASSERT_THAT(writer->Finish(), IsOk());
  EXPECT_THAT(writer->Write(AsBytes("x")),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(EnvelopeTest, KeyringFilesHoldNoDataOrDataKey) {
  const std::string marker = "PLAINTEXT-MARKER-0123456789";
  const Bytes plain(marker.begin(), marker.end());
  const Bytes envelope = *Encrypt(plain, {});
  EXPECT_EQ(
      std::search(envelope.begin(), envelope.end(), plain.begin(), plain.end()),
      envelope.end());
  for (const std::string& file : dir_.ListFiles()) {
    std::ifstream in(file, std::ios::binary);
    const std::string contents(std::istreambuf_iterator<char>(in), {});
    EXPECT_EQ(contents.find(marker), std::string::npos) << file;
  }
}

TEST_F(EnvelopeTest, FourThreadsShareOneKeyring) {
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(Seed() + static_cast<uint64_t>(t));
      for (int i = 0; i < 20; ++i) {
        Bytes plain(rng() % 5000);
        for (uint8_t& b : plain) b = static_cast<uint8_t>(rng());
        const Bytes meta = {static_cast<uint8_t>(t), static_cast<uint8_t>(i)};
        Bytes env, back;
        auto collect = [](Bytes& out) {
          return [&out](ByteView c) {
            out.insert(out.end(), c.begin(), c.end());
            return absl::OkStatus();
          };
        };
        auto writer =
            EnvelopeWriter::Create(*kms_, t % 2 ? "home" : "away", meta,
                                   collect(env), {.segment_size = 256});
        if (!writer.ok() || !(*writer)->Write(plain).ok() ||
            !(*writer)->Finish().ok()) {
          ++failures;
          continue;
        }
        EnvelopeReader reader(*kms_, t % 2 ? "home" : "away", meta,
                              collect(back));
        if (!reader.Feed(env).ok() || !reader.Finish().ok() || back != plain) {
          ++failures;
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0) << "seed " << Seed();
}

}  // namespace
}  // namespace coffer::kms
