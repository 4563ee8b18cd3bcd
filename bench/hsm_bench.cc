// The HSM's operations, three ways in one run: raw OpenSSL EVP calls, the
// HSM core in process, and the coffer-hsm daemon through its wire API on
// loopback (mTLS, one connection per client thread). For each: ops/s, p50
// and p99 latency at 1 and 2 threads; for the wire API also CPU
// microseconds per request for the client and for the server process.
//
//   hsm_bench [--seconds S] [--only SUBSTRING]
//
// Informational: it never fails on a timing. Goals (issue 3): RSA-2048 sign
// in process at 0.85x raw or better; ECDSA P-256 sign through the API at 2
// threads at 20,000/s or more.
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "client/hsm_client.h"
#include "crypto/crypto.h"
#include "hsm/hsm.h"
#include "hsm/key_manager.h"
#include "hsm/user_manager.h"
#include "node/data_dir.h"
#include "provision/provision.h"

namespace {

using namespace coffer;  // NOLINT: a benchmark's main file
using Clock = std::chrono::steady_clock;
namespace pb = ::coffer::hsm::v1;

constexpr char kUser[] = "bench";
constexpr char kPassword[] = "bench-password";

using bench::Die;
using bench::Must;

crypto::SecretBytes Secret(const char* s) {
  return crypto::SecretBytes::CopyOf(AsBytes(s));
}

struct Result {
  double ops_per_s = 0, p50_us = 0, p99_us = 0;
  double client_cpu_us = -1, server_cpu_us = -1;
};

double CpuSeconds(pid_t pid) {
  if (pid == 0) {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return u.ru_utime.tv_sec + u.ru_stime.tv_sec +
           (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
  }
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string field;
  long ticks = 0;
  for (int i = 1; i <= 15 && stat >> field; ++i) {
    if (i == 14 || i == 15) ticks += std::stol(field);  // utime, stime
  }
  return static_cast<double>(ticks) / sysconf(_SC_CLK_TCK);
}

// Runs `op(thread)` on `threads` threads for `seconds`; `server` (a pid or
// -1) is the process whose CPU time is also measured.
Result Measure(int threads, double seconds, pid_t server,
               const std::function<void(int)>& op) {
  std::vector<std::vector<float>> lat(threads);
  std::atomic<bool> stop{false};
  const double cpu0 = CpuSeconds(0);
  const double srv0 = server > 0 ? CpuSeconds(server) : 0;
  const auto start = Clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      while (!stop.load(std::memory_order_relaxed)) {
        const auto t0 = Clock::now();
        op(t);
        lat[t].push_back(
            std::chrono::duration<float, std::micro>(Clock::now() - t0)
                .count());
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& th : pool) th.join();
  const double elapsed =
      std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<float> all;
  for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  Result r;
  if (all.empty()) return r;
  r.ops_per_s = all.size() / elapsed;
  r.p50_us = all[all.size() / 2];
  r.p99_us = all[std::min(all.size() - 1, all.size() * 99 / 100)];
  r.client_cpu_us = (CpuSeconds(0) - cpu0) * 1e6 / all.size();
  if (server > 0)
    r.server_cpu_us = (CpuSeconds(server) - srv0) * 1e6 / all.size();
  return r;
}

// --- raw OpenSSL ---------------------------------------------------------

struct RawKeys {
  EVP_PKEY* rsa = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048});
  EVP_PKEY* ec = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  EVP_CIPHER* gcm = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  unsigned char aes_key[32] = {1};
};

void RawSign(EVP_PKEY* key, const Bytes& msg) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  unsigned char sig[512];
  size_t len = sizeof(sig);
  EVP_DigestSignInit_ex(ctx, nullptr, "SHA256", nullptr, nullptr, key, nullptr);
  EVP_DigestSign(ctx, sig, &len, msg.data(), msg.size());
  EVP_MD_CTX_free(ctx);
}

void RawGcm(const RawKeys& k, const Bytes& data, Bytes& out) {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  unsigned char iv[12];
  RAND_bytes(iv, sizeof(iv));  // the HSM generates its IVs too
  int len = 0;
  EVP_EncryptInit_ex2(ctx, k.gcm, k.aes_key, iv, nullptr);
  EVP_EncryptUpdate(ctx, out.data(), &len, data.data(),
                    static_cast<int>(data.size()));
  EVP_EncryptFinal_ex(ctx, out.data() + len, &len);
  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, out.data() + data.size());
  EVP_CIPHER_CTX_free(ctx);
}

// --- the HSM, provisioned in process -------------------------------------

struct Provisioned {
  std::string dir;
  provision::CertificateAuthority customer_ca;
  provision::IssuedKey client;
  std::unique_ptr<hsm::Hsm> hsm;
  hsm::Caller user;
  hsm::ObjectHandle rsa = 0, ec = 0, aes = 0;
};

hsm::KeyTemplate Template(hsm::KeyType type, uint32_t bits) {
  hsm::KeyTemplate t;
  t.key_type = type;
  t.bits = bits;
  t.label = "bench";
  return t;
}

Provisioned Provision(const std::string& dir) {
  auto ca = Must(provision::CreateCa("bench customer", "bench"), "CA");
  auto client = Must(provision::IssueLeaf(ca, "bench client",
                                          crypto::CertificateUsage::kTlsClient),
                     "client cert");
  Provisioned p{dir, std::move(ca), std::move(client), nullptr, {}, 0, 0, 0};
  auto factory = Must(provision::CreateFactory("bench-factory"), "factory");
  Must(node::CreateDataDir(dir), "data dir");
  auto stores = Must(node::OpenDataDir(dir), "open data dir");
  Must(hsm::Hsm::Manufacture(*stores.device, Must(provision::ManufactureDevice(
                                                      factory, "BENCH-1", "1"),
                                                  "device")),
       "manufacture");
  auto h = Must(
      hsm::Hsm::Open(std::move(stores.device), std::move(stores.state), {}),
      "open");
  auto akbk = Must(provision::GenerateAkbk(2), "akbk");
  Must(h->BeginCommission(hsm::Mode::kNonFips, 2, akbk.combined_kcv_hex,
                          p.customer_ca.cert.ToPem()),
       "commission");
  for (int i = 0; i < 2; ++i) {
    Must(h->AddAkbkComponent(i ? "b" : "a",
                             std::move(akbk.components[i].component),
                             akbk.components[i].kcv_hex)
             .status(),
         "component");
  }
  auto csr = Must(h->CreateClusterCsr("bench"), "csr");
  auto cert = Must(provision::SignClusterCsr(p.customer_ca, csr), "sign csr");
  Must(h->InstallClusterCertificate(cert.ToPem(), p.customer_ca.cert.ToPem()),
       "install cert");
  Must(h->Activate(Secret("admin-password")), "activate");
  auto admin = Must(h->Authenticate(Must(
                        h->Login("admin", Secret("admin-password")), "login")),
                    "auth");
  Must(h->users().CreateUser(admin, kUser, hsm::Role::kCryptoUser,
                             Secret(kPassword)),
       "create user");
  p.user =
      Must(h->Authenticate(Must(h->Login(kUser, Secret(kPassword)), "login")),
           "auth");
  p.rsa = Must(h->keys().GenerateKeyPair(p.user,
                                         Template(hsm::KeyType::kRsa, 2048)),
               "rsa")
              .private_key;
  p.ec = Must(h->keys().GenerateKeyPair(p.user,
                                        Template(hsm::KeyType::kEcP256, 0)),
              "ec")
             .private_key;
  p.aes = Must(
      h->keys().GenerateSecretKey(p.user, Template(hsm::KeyType::kAes, 256)),
      "aes");
  p.hsm = std::move(h);
  return p;
}

hsm::MechanismParams Mech(hsm::Mechanism m) {
  hsm::MechanismParams p;
  p.mechanism = m;
  return p;
}

// --- the daemon ------------------------------------------------------------

pid_t StartDaemon(const std::string& dir, uint16_t* port) {
  const std::string port_file = dir + "/port";
  std::vector<std::string> args = {COFFER_HSM_BINARY, "--data-dir", dir,
                                   "--port-file", port_file};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 2, (dir + "/hsm.log").c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0600);
  pid_t pid = 0;
  if (posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) !=
      0) {
    Die("spawn coffer-hsm", absl::InternalError(argv[0]));
  }
  posix_spawn_file_actions_destroy(&actions);
  for (int i = 0; i < 200; ++i) {
    std::ifstream in(port_file);
    int value = 0;
    if (in >> value && value > 0) {
      *port = static_cast<uint16_t>(value);
      return pid;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(pid, SIGKILL);
  Die("coffer-hsm did not start", absl::DeadlineExceededError(dir));
}

net::TlsClientOptions ClientOptions(const Provisioned& p) {
  net::TlsClientOptions tls;
  tls.credentials.certificate_chain_pem = p.client.cert.ToPem();
  tls.credentials.private_key_pem = Must(p.client.key.ToPem(), "key pem");
  tls.credentials.trust_anchors_pem = p.customer_ca.cert.ToPem();
  tls.server_name = "127.0.0.1";
  return tls;
}

void PrintRow(const char* path, const char* op, int threads, const Result& r) {
  auto cpu = [](double v) {
    return v < 0 ? std::string("-") : std::to_string(static_cast<int>(v + 0.5));
  };
  std::printf("  %-10s %-28s %7d %10.0f %9.1f %9.1f %10s %10s\n", path, op,
              threads, r.ops_per_s, r.p50_us, r.p99_us,
              cpu(r.client_cpu_us).c_str(), cpu(r.server_cpu_us).c_str());
}

}  // namespace

int main(int argc, char** argv) {
  bench::program_name = "hsm_bench";
  double seconds = 2.0;
  std::string only;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--seconds") == 0)
      seconds = std::atof(argv[i + 1]);
    if (std::strcmp(argv[i], "--only") == 0) only = argv[i + 1];
  }
  (void)crypto::InitSecureMemory();
  char tmpl[] = "/tmp/coffer-hsm-bench-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  Provisioned p = Provision(dir + "/hsm");
  RawKeys raw;
  const Bytes msg(32, 0x5a);
  const Bytes record(4096, 0x42);

  struct Op {
    const char* name;
    std::function<void(int)> raw, in_process;
    std::function<pb::Request()> request;
  };
  auto sign_request = [&](hsm::ObjectHandle key, pb::Mechanism m) {
    pb::Request r;
    r.mutable_sign()->set_handle(key);
    r.mutable_sign()->mutable_mechanism()->set_mechanism(m);
    r.mutable_sign()->set_data(std::string(msg.begin(), msg.end()));
    return r;
  };
  std::vector<Bytes> gcm_out(2, Bytes(4096 + 16));
  const std::vector<Op> ops = {
      {"RSA-2048 sign (SHA-256)", [&](int) { RawSign(raw.rsa, msg); },
       [&](int) {
         Must(p.hsm->keys().Sign(p.user, p.rsa, Mech(hsm::Mechanism::kRsaPkcs),
                                 msg),
              "sign");
       },
       [&] { return sign_request(p.rsa, pb::MECHANISM_RSA_PKCS); }},
      {"ECDSA P-256 sign (SHA-256)", [&](int) { RawSign(raw.ec, msg); },
       [&](int) {
         Must(p.hsm->keys().Sign(p.user, p.ec, Mech(hsm::Mechanism::kEcdsa),
                                 msg),
              "sign");
       },
       [&] { return sign_request(p.ec, pb::MECHANISM_ECDSA); }},
      {"AES-256-GCM encrypt 4 KiB",
       [&](int t) { RawGcm(raw, record, gcm_out[t]); },
       [&](int) {
         Must(p.hsm->keys().Encrypt(p.user, p.aes,
                                    Mech(hsm::Mechanism::kAesGcm), record),
              "encrypt");
       },
       [&] {
         pb::Request r;
         r.mutable_encrypt()->set_handle(p.aes);
         r.mutable_encrypt()->mutable_mechanism()->set_mechanism(
             pb::MECHANISM_AES_GCM);
         r.mutable_encrypt()->set_plaintext(
             std::string(record.begin(), record.end()));
         return r;
       }},
      {"AES-256 keygen (persisted)", nullptr,
       [&](int) {
         Must(p.hsm->keys().GenerateSecretKey(
                  p.user, Template(hsm::KeyType::kAes, 256)),
              "keygen");
       },
       [&] {
         pb::Request r;
         r.mutable_generate_key()->mutable_template_()->set_key_type(
             pb::KEY_TYPE_AES);
         r.mutable_generate_key()->mutable_template_()->set_bits(256);
         return r;
       }},
  };

  std::printf(
      "\nCoffer HSM benchmark: %.1f s per cell; latencies in us; CPU "
      "in us per request\n\n",
      seconds);
  std::printf("  %-10s %-28s %7s %10s %9s %9s %10s %10s\n", "path", "operation",
              "threads", "ops/s", "p50", "p99", "client CPU", "server CPU");
  for (const Op& op : ops) {
    if (!only.empty() && std::string(op.name).find(only) == std::string::npos) {
      continue;
    }
    for (int threads : {1, 2}) {
      if (op.raw)
        PrintRow("raw", op.name, threads,
                 Measure(threads, seconds, -1, op.raw));
      PrintRow("in-process", op.name, threads,
               Measure(threads, seconds, -1, op.in_process));
    }
  }
  p.hsm.reset();  // the daemon takes the data directory over

  uint16_t port = 0;
  const pid_t daemon = StartDaemon(p.dir, &port);
  const net::TlsClientOptions tls = ClientOptions(p);
  std::vector<client::HsmClient> clients;
  for (int t = 0; t < 2; ++t) {
    clients.push_back(
        Must(client::HsmClient::Connect({"127.0.0.1", port}, tls), "connect"));
    Must(clients.back().Login(kUser, Secret(kPassword)).status(), "login");
  }
  for (const Op& op : ops) {
    if (!only.empty() && std::string(op.name).find(only) == std::string::npos) {
      continue;
    }
    const pb::Request request = op.request();
    for (int threads : {1, 2}) {
      PrintRow("wire API", op.name, threads,
               Measure(threads, seconds, daemon, [&](int t) {
                 Must(clients[t].Call(request).status(), op.name);
               }));
    }
  }
  kill(daemon, SIGTERM);
  waitpid(daemon, nullptr, 0);
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  std::printf(
      "\nGoals: RSA-2048 sign in process >= 0.85x raw at the same "
      "threads; ECDSA P-256 sign via the wire API at 2 threads >= "
      "20,000/s.\n");
  return 0;
}
