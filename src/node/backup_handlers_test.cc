// Streamed backups through Dispatcher::Handle against a real HSM core, with
// a scripted FrameStream in place of the network: the round trip, and the
// malformed or aborted streams that must change nothing.
#include <deque>
#include <memory>

#include "coffer/hsm/v1/hsm.pb.h"
#include "hsm/hsm_test_fixture.h"
#include "node/dispatcher.h"

namespace coffer::node {
namespace {

namespace pb = ::coffer::hsm::v1;

// Records what the handler sends; serves scripted request frames, then
// reports the peer gone.
class ScriptedStream final : public net::FrameStream {
 public:
  absl::Status Send(ByteView frame) override {
    sent.emplace_back(frame.begin(), frame.end());
    return absl::OkStatus();
  }
  absl::StatusOr<ByteView> Receive() override {
    if (incoming.empty()) return absl::UnavailableError("peer closed");
    current = std::move(incoming.front());
    incoming.pop_front();
    return AsBytes(current);
  }
  std::vector<std::string> sent;
  std::deque<std::string> incoming;
  std::string current;
};

pb::Response Parse(const std::string& frame) {
  pb::Response r;
  EXPECT_TRUE(r.ParseFromString(frame));
  return r;
}

class BackupWireTest : public hsm::HsmTest {
 protected:
  void SetUp() override {
    hsm_ = Manufactured();
    ASSERT_NE(hsm_, nullptr);
    Commission(*hsm_, hsm::Mode::kNonFips);
    if (HasFatalFailure()) return;
    Dispatcher::Hooks hooks;
    hooks.credentials_changed = [this] { ++credentials_changed_; };
    dispatcher_ = std::make_unique<Dispatcher>(*hsm_, hooks);
    session_ = hsm_->Login("admin", hsm::Secret("admin-password")).value();
  }

  pb::Response Handle(const pb::Request& request, ScriptedStream* stream) {
    const std::string frame = request.SerializeAsString();
    const Bytes out = dispatcher_->Handle(AsBytes(frame), stream);
    return Parse(std::string(out.begin(), out.end()));
  }

  // A whole backup, as the chunks the HSM streamed.
  std::vector<std::string> Backup() {
    pb::Request request;
    request.set_session(session_);
    request.mutable_create_backup();
    ScriptedStream stream;
    const pb::Response final_response = Handle(request, &stream);
    EXPECT_EQ(final_response.status().code(), 0)
        << final_response.status().message();
    EXPECT_GT(final_response.create_backup().summary().size_bytes(), 0u);
    std::vector<std::string> chunks;
    for (const std::string& frame : stream.sent) {
      chunks.push_back(Parse(frame).backup_chunk().data());
    }
    return chunks;
  }

  static std::string Chunk(const std::string& data, bool last) {
    pb::Request r;
    r.mutable_backup_chunk()->set_data(data);
    r.mutable_backup_chunk()->set_last(last);
    return r.SerializeAsString();
  }

  pb::Response Restore(ScriptedStream& stream) {
    pb::Request request;
    request.set_session(session_);
    request.mutable_restore_backup();
    return Handle(request, &stream);
  }

  std::unique_ptr<hsm::Hsm> hsm_;
  std::unique_ptr<Dispatcher> dispatcher_;
  std::string session_;
  int credentials_changed_ = 0;
};

TEST_F(BackupWireTest, CreateAndRestoreStreamOverTheConnection) {
  const std::vector<std::string> chunks = Backup();
  ASSERT_FALSE(chunks.empty());
  ScriptedStream stream;
  for (const std::string& c : chunks)
    stream.incoming.push_back(Chunk(c, false));
  stream.incoming.push_back(Chunk("", true));
  const pb::Response r = Restore(stream);
  ASSERT_EQ(r.status().code(), 0) << r.status().message();
  EXPECT_EQ(r.restore_backup().summary().backup_id().size(), 32u);
  EXPECT_EQ(credentials_changed_, 1);
  // The restore ended every session.
  EXPECT_FALSE(hsm_->Authenticate(session_).ok());
}

TEST_F(BackupWireTest, MalformedOrAbortedStreamsChangeNothing) {
  pb::Request create;
  create.mutable_create_backup();
  EXPECT_EQ(Handle(create, nullptr).status().code(),
            static_cast<int>(absl::StatusCode::kFailedPrecondition));
  pb::Request stray;
  stray.mutable_backup_chunk()->set_data("x");
  ScriptedStream none;
  EXPECT_EQ(Handle(stray, &none).status().code(),
            static_cast<int>(absl::StatusCode::kInvalidArgument));

  const std::vector<std::string> chunks = Backup();
  // The peer goes away before the last chunk.
  ScriptedStream aborted;
  aborted.incoming.push_back(Chunk(chunks.front(), false));
  EXPECT_NE(Restore(aborted).status().code(), 0);
  // Something else than a chunk in the middle of a restore.
  ScriptedStream garbled;
  garbled.incoming.push_back(Chunk(chunks.front(), false));
  garbled.incoming.push_back("\xff\xff not a request");
  EXPECT_EQ(Restore(garbled).status().code(),
            static_cast<int>(absl::StatusCode::kInvalidArgument));
  // A damaged backup: every chunk is still read, then the error answers.
  ScriptedStream damaged;
  damaged.incoming.push_back(Chunk("COFFERBK but not really", false));
  damaged.incoming.push_back(Chunk("more", false));
  damaged.incoming.push_back(Chunk("", true));
  EXPECT_NE(Restore(damaged).status().code(), 0);
  EXPECT_TRUE(damaged.incoming.empty());
  // A bad session is refused the same way.
  ScriptedStream forged;
  forged.incoming.push_back(Chunk("", true));
  pb::Request request;
  request.set_session(std::string(64, 'a'));
  request.mutable_restore_backup();
  EXPECT_EQ(Handle(request, &forged).status().code(),
            static_cast<int>(absl::StatusCode::kUnauthenticated));

  EXPECT_EQ(credentials_changed_, 0);
  EXPECT_TRUE(hsm_->Authenticate(session_).ok());
  EXPECT_EQ(hsm_->Info().state, hsm::HsmState::kActive);
}

}  // namespace
}  // namespace coffer::node
