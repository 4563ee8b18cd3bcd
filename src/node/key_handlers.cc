// Keys and cryptographic operations on the wire.
#include <string.h>

#include "base/status.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "hsm/key_manager.h"
#include "node/convert.h"
#include "node/internal/handlers.h"

namespace coffer::node::internal {
namespace {

constexpr uint32_t kMaxRandom = 1 << 20;

std::string ToString(ByteView bytes) {
  return std::string(bytes.begin(), bytes.end());
}

ByteView View(const std::string& s) { return AsBytes(s); }

absl::Status ManageKeys(Call& c, const hsm::Caller& caller) {
  hsm::KeyManager& keys = c.hsm.keys();
  switch (c.request.op_case()) {
    case pb::Request::kGenerateKey: {
      COFFER_ASSIGN_OR_RETURN(hsm::KeyTemplate t,
                              FromProto(c.request.generate_key().template_()));
      COFFER_ASSIGN_OR_RETURN(hsm::ObjectHandle h,
                              keys.GenerateSecretKey(caller, t));
      c.response.mutable_generate_key()->set_handle(h);
      return absl::OkStatus();
    }
    case pb::Request::kGenerateKeyPair: {
      COFFER_ASSIGN_OR_RETURN(
          hsm::KeyTemplate t,
          FromProto(c.request.generate_key_pair().template_()));
      COFFER_ASSIGN_OR_RETURN(hsm::KeyPairHandles pair,
                              keys.GenerateKeyPair(caller, t));
      c.response.mutable_generate_key_pair()->set_public_handle(
          pair.public_key);
      c.response.mutable_generate_key_pair()->set_private_handle(
          pair.private_key);
      return absl::OkStatus();
    }
    case pb::Request::kImportCertificate: {
      const pb::ImportCertificateRequest& r = c.request.import_certificate();
      COFFER_ASSIGN_OR_RETURN(
          hsm::ObjectHandle h,
          keys.ImportCertificate(caller, View(r.certificate_der()), r.label(),
                                 Bytes(r.id().begin(), r.id().end()),
                                 !r.session_object()));
      c.response.mutable_import_certificate()->set_handle(h);
      return absl::OkStatus();
    }
    case pb::Request::kFindKeys: {
      COFFER_ASSIGN_OR_RETURN(hsm::KeyFilter f,
                              FromProto(c.request.find_keys().filter()));
      COFFER_ASSIGN_OR_RETURN(std::vector<hsm::KeyInfo> found,
                              keys.Find(caller, f));
      pb::FindKeysResponse* out = c.response.mutable_find_keys();
      for (const hsm::KeyInfo& info : found) ToProto(info, out->add_keys());
      return absl::OkStatus();
    }
    case pb::Request::kGetAttributes: {
      COFFER_ASSIGN_OR_RETURN(
          hsm::KeyInfo info,
          keys.GetAttributes(caller, c.request.get_attributes().handle()));
      ToProto(info, c.response.mutable_get_attributes()->mutable_key());
      return absl::OkStatus();
    }
    case pb::Request::kSetAttribute: {
      const pb::SetAttributeRequest& r = c.request.set_attribute();
      COFFER_RETURN_IF_ERROR(
          keys.SetAttribute(caller, r.handle(), FromProto(r.change())));
      c.response.mutable_set_attribute();
      return absl::OkStatus();
    }
    case pb::Request::kShareKey: {
      const pb::ShareKeyRequest& r = c.request.share_key();
      COFFER_RETURN_IF_ERROR(r.unshare()
                                 ? keys.Unshare(caller, r.handle(), r.user())
                                 : keys.Share(caller, r.handle(), r.user()));
      c.response.mutable_share_key();
      return absl::OkStatus();
    }
    case pb::Request::kDestroyKey:
      COFFER_RETURN_IF_ERROR(
          keys.Destroy(caller, c.request.destroy_key().handle()));
      c.response.mutable_destroy_key();
      return absl::OkStatus();
    default:
      return absl::InvalidArgumentError("unknown operation");
  }
}

absl::Status UseKeys(Call& c, const hsm::Caller& caller) {
  hsm::KeyManager& keys = c.hsm.keys();
  switch (c.request.op_case()) {
    case pb::Request::kSign: {
      const pb::SignRequest& r = c.request.sign();
      COFFER_ASSIGN_OR_RETURN(hsm::MechanismParams m, FromProto(r.mechanism()));
      COFFER_ASSIGN_OR_RETURN(Bytes sig,
                              keys.Sign(caller, r.handle(), m, View(r.data())));
      c.response.mutable_sign()->set_signature(ToString(sig));
      return absl::OkStatus();
    }
    case pb::Request::kVerify: {
      const pb::VerifyRequest& r = c.request.verify();
      COFFER_ASSIGN_OR_RETURN(hsm::MechanismParams m, FromProto(r.mechanism()));
      COFFER_RETURN_IF_ERROR(keys.Verify(caller, r.handle(), m, View(r.data()),
                                         View(r.signature())));
      c.response.mutable_verify();
      return absl::OkStatus();
    }
    case pb::Request::kEncrypt: {
      pb::EncryptRequest* r = c.request.mutable_encrypt();
      COFFER_ASSIGN_OR_RETURN(hsm::MechanismParams m,
                              FromProto(r->mechanism()));
      crypto::SecretBytes plaintext = TakeSecret(r->mutable_plaintext());
      COFFER_ASSIGN_OR_RETURN(
          hsm::EncryptResult result,
          keys.Encrypt(caller, r->handle(), m, plaintext.ExposeSecret()));
      c.response.mutable_encrypt()->set_iv(ToString(result.iv));
      c.response.mutable_encrypt()->set_ciphertext(ToString(result.ciphertext));
      return absl::OkStatus();
    }
    case pb::Request::kDecrypt: {
      const pb::DecryptRequest& r = c.request.decrypt();
      COFFER_ASSIGN_OR_RETURN(hsm::MechanismParams m, FromProto(r.mechanism()));
      COFFER_ASSIGN_OR_RETURN(
          crypto::SecretBytes plain,
          keys.Decrypt(caller, r.handle(), m, View(r.ciphertext())));
      c.response.mutable_decrypt()->set_plaintext(
          ToString(plain.ExposeSecret()));
      return absl::OkStatus();
    }
    case pb::Request::kWrapKey: {
      const pb::WrapKeyRequest& r = c.request.wrap_key();
      COFFER_ASSIGN_OR_RETURN(hsm::MechanismParams m, FromProto(r.mechanism()));
      COFFER_ASSIGN_OR_RETURN(
          Bytes wrapped, keys.Wrap(caller, r.wrapping_handle(), r.handle(), m));
      c.response.mutable_wrap_key()->set_wrapped(ToString(wrapped));
      return absl::OkStatus();
    }
    case pb::Request::kUnwrapKey: {
      const pb::UnwrapKeyRequest& r = c.request.unwrap_key();
      COFFER_ASSIGN_OR_RETURN(hsm::MechanismParams m, FromProto(r.mechanism()));
      COFFER_ASSIGN_OR_RETURN(hsm::KeyTemplate t, FromProto(r.template_()));
      COFFER_ASSIGN_OR_RETURN(
          hsm::ObjectHandle h,
          keys.Unwrap(caller, r.unwrapping_handle(), m, View(r.wrapped()), t));
      c.response.mutable_unwrap_key()->set_handle(h);
      return absl::OkStatus();
    }
    case pb::Request::kDeriveKey: {
      const pb::DeriveKeyRequest& r = c.request.derive_key();
      COFFER_ASSIGN_OR_RETURN(hsm::KeyTemplate t, FromProto(r.template_()));
      COFFER_ASSIGN_OR_RETURN(hsm::ObjectHandle h,
                              keys.DeriveEcdh(caller, r.private_handle(),
                                              View(r.peer_public_der()), t));
      c.response.mutable_derive_key()->set_handle(h);
      return absl::OkStatus();
    }
    default:
      return ManageKeys(c, caller);
  }
}

absl::StatusOr<crypto::HashAlg> DigestAlg(pb::HashAlg hash) {
  pb::MechanismParams m;
  m.set_mechanism(pb::MECHANISM_HMAC);
  m.set_hash(hash);
  COFFER_ASSIGN_OR_RETURN(hsm::MechanismParams params, FromProto(m));
  return params.hash;
}

}  // namespace

absl::Status ServeKeys(Call& c, const hsm::Caller& caller) {
  switch (c.request.op_case()) {
    case pb::Request::kDigest: {
      const pb::DigestRequest& r = c.request.digest();
      COFFER_ASSIGN_OR_RETURN(crypto::HashAlg alg, DigestAlg(r.hash()));
      COFFER_ASSIGN_OR_RETURN(Bytes digest,
                              crypto::Digest(alg, View(r.data())));
      c.response.mutable_digest()->set_digest(ToString(digest));
      return absl::OkStatus();
    }
    case pb::Request::kGenerateRandom: {
      const uint32_t n = c.request.generate_random().length();
      if (n > kMaxRandom) {
        return absl::InvalidArgumentError(
            "ask for at most 1 MiB of random bytes per call");
      }
      COFFER_ASSIGN_OR_RETURN(Bytes random, crypto::RandomBytes(n));
      c.response.mutable_generate_random()->set_random(ToString(random));
      return absl::OkStatus();
    }
    default:
      return UseKeys(c, caller);
  }
}

}  // namespace coffer::node::internal
