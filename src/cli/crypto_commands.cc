// Cryptographic operations: data from --in (default stdin), results to
// --out (default stdout), binary-safe. Signatures and ciphertexts are raw
// bytes. Symmetric encryption writes iv || ciphertext (AES-GCM: the HSM's
// 12-byte IV, then ciphertext || 16-byte tag; CBC-PAD and CTR: a fresh
// 16-byte IV or counter block made here); decrypt reads the same framing.
#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "cli/commands.h"
#include "cli/io.h"
#include "crypto/random.h"
#include "net/frame.h"

namespace coffer::cli {
namespace {

// Room left in one request frame for the data, after the message fields.
constexpr size_t kMaxData = net::kDefaultMaxFrameSize - 4096;

absl::StatusOr<std::string> ReadData(const Args& args) {
  COFFER_ASSIGN_OR_RETURN(std::string data, ReadInput(args.Get("--in")));
  if (data.size() > kMaxData) {
    const size_t size = data.size();
    client::WipeBytes(&data);
    return UsageError(absl::StrCat("the input is ", size,
                                   " bytes; one HSM operation takes at most ",
                                   kMaxData, " bytes"));
  }
  return data;
}

// Writes the result; with --out FILE also reports it.
absl::Status Emit(Context& ctx, const std::string& result, const char* what) {
  const std::string out = ctx.args.Get("--out");
  COFFER_RETURN_IF_ERROR(WriteOutput(out, AsBytes(result)));
  if (!out.empty() && out != "-") {
    Json doc;
    doc["out"] = out;
    doc["bytes"] = result.size();
    ctx.out.Print(doc, absl::StrCat("Wrote the ", what, " to ", out, "."));
  }
  return absl::OkStatus();
}

struct Operation {
  Connection conn;
  uint64_t handle;
  MechanismSpec mech;
};

absl::StatusOr<Operation> Prepare(Context& ctx, MechanismUse use,
                                  bool private_side) {
  COFFER_ASSIGN_OR_RETURN(MechanismSpec mech,
                          ParseMechanism(ctx.args.Get("--mechanism"), use));
  COFFER_ASSIGN_OR_RETURN(Connection conn, OpenSession(ctx.connection));
  COFFER_ASSIGN_OR_RETURN(
      uint64_t handle,
      ResolveKey(conn, ctx.args, "--handle", "--label", private_side));
  return Operation{std::move(conn), handle, std::move(mech)};
}

absl::Status SetAad(const Args& args, pb::MechanismParams& params) {
  if (!args.Has("--aad-file")) return absl::OkStatus();
  COFFER_ASSIGN_OR_RETURN(std::string aad, ReadFile(args.Get("--aad-file")));
  params.set_aad(aad);
  return absl::OkStatus();
}

}  // namespace

absl::Status CryptoSign(Context& ctx) {
  COFFER_ASSIGN_OR_RETURN(std::string data, ReadData(ctx.args));
  COFFER_ASSIGN_OR_RETURN(Operation op,
                          Prepare(ctx, MechanismUse::kSign, true));
  pb::Request request;
  pb::SignRequest* r = request.mutable_sign();
  r->set_handle(op.handle);
  *r->mutable_mechanism() = ToParams(op.mech);
  r->set_data(std::move(data));
  COFFER_ASSIGN_OR_RETURN(pb::Response response, op.conn.Call(request));
  return Emit(ctx, response.sign().signature(), "signature");
}

absl::Status CryptoVerify(Context& ctx) {
  COFFER_ASSIGN_OR_RETURN(std::string data, ReadData(ctx.args));
  COFFER_ASSIGN_OR_RETURN(std::string signature,
                          ReadFile(ctx.args.Get("--signature")));
  COFFER_ASSIGN_OR_RETURN(Operation op,
                          Prepare(ctx, MechanismUse::kSign, false));
  pb::Request request;
  pb::VerifyRequest* r = request.mutable_verify();
  r->set_handle(op.handle);
  *r->mutable_mechanism() = ToParams(op.mech);
  r->set_data(std::move(data));
  r->set_signature(std::move(signature));
  COFFER_RETURN_IF_ERROR(op.conn.Call(request).status());
  Json doc;
  doc["valid"] = true;
  ctx.out.Print(doc, "The signature is valid.");
  return absl::OkStatus();
}

absl::Status CryptoEncrypt(Context& ctx) {
  COFFER_ASSIGN_OR_RETURN(std::string plaintext, ReadData(ctx.args));
  COFFER_ASSIGN_OR_RETURN(Operation op,
                          Prepare(ctx, MechanismUse::kEncrypt, false));
  pb::Request request;
  pb::EncryptRequest* r = request.mutable_encrypt();
  r->set_handle(op.handle);
  *r->mutable_mechanism() = ToParams(op.mech);
  COFFER_RETURN_IF_ERROR(SetAad(ctx.args, *r->mutable_mechanism()));
  std::string iv;
  if (op.mech.mechanism != pb::MECHANISM_AES_GCM && op.mech.iv_size > 0) {
    COFFER_ASSIGN_OR_RETURN(Bytes fresh, crypto::RandomBytes(op.mech.iv_size));
    iv.assign(fresh.begin(), fresh.end());
    r->mutable_mechanism()->set_iv(iv);
  }
  r->set_plaintext(std::move(plaintext));
  absl::StatusOr<pb::Response> response = op.conn.Call(request);
  client::WipeBytes(r->mutable_plaintext());
  if (!response.ok()) return response.status();
  if (op.mech.mechanism == pb::MECHANISM_AES_GCM) {
    iv = response->encrypt().iv();
    if (iv.size() != op.mech.iv_size) {
      return absl::DataLossError(
          absl::StrCat("the HSM returned a ", iv.size(), "-byte GCM IV"));
    }
  }
  return Emit(ctx, iv + response->encrypt().ciphertext(), "ciphertext");
}

absl::Status CryptoDecrypt(Context& ctx) {
  COFFER_ASSIGN_OR_RETURN(std::string input, ReadData(ctx.args));
  COFFER_ASSIGN_OR_RETURN(Operation op,
                          Prepare(ctx, MechanismUse::kEncrypt, true));
  pb::Request request;
  pb::DecryptRequest* r = request.mutable_decrypt();
  r->set_handle(op.handle);
  *r->mutable_mechanism() = ToParams(op.mech);
  COFFER_RETURN_IF_ERROR(SetAad(ctx.args, *r->mutable_mechanism()));
  const size_t iv_size = op.mech.iv_size;
  if (input.size() < iv_size) {
    return UsageError(absl::StrCat("the input is shorter than the ", iv_size,
                                   "-byte IV `crypto encrypt` puts first"));
  }
  r->mutable_mechanism()->set_iv(input.substr(0, iv_size));
  r->set_ciphertext(input.substr(iv_size));
  COFFER_ASSIGN_OR_RETURN(pb::Response response, op.conn.Call(request));
  std::string* plaintext = response.mutable_decrypt()->mutable_plaintext();
  absl::Status s = Emit(ctx, *plaintext, "plaintext");
  client::WipeBytes(plaintext);
  return s;
}

}  // namespace coffer::cli
