// coffer: the command line for Coffer HSMs. Every command is a row of the
// table in command_table.cc; this file turns the table into CLI11
// subcommands, parses, and runs the chosen row's handler.
#include <iostream>
#include <map>
#include <utility>
#include <vector>

#include "CLI/CLI.hpp"
#include "cli/command_table.h"
#include "crypto/secret_bytes.h"

namespace coffer::cli {
namespace {

constexpr char kFooter[] =
    "Exit codes: 0 ok; 1 the HSM refused (its message is printed); 2 usage "
    "(bad arguments, unreadable input); 3 cannot reach or authenticate the "
    "HSM or the manager.\nSecrets are never taken from argv: use a prompt, "
    "--*-file or "
    "--*-stdin. See docs/cli.md.";

struct GlobalOptions {
  std::string output = "table";
  ConnectionFlags connection;
};

void AddGlobalOptions(CLI::App& app, GlobalOptions& g) {
  app.add_option("--output,-o", g.output, "table (default) or json")
      ->check(CLI::IsMember({"table", "json"}));
  app.add_option("--config", g.connection.config,
                 "connection config file (default: $COFFER_CONFIG)");
  app.add_option("--hsm", g.connection.hsm, "the HSM's HOST:PORT");
  app.add_option("--manager", g.connection.manager,
                 "the coffer-manager's HOST:PORT (cluster, backup list/"
                 "delete/restore/modify, tag)");
  app.add_option("--ca", g.connection.ca,
                 "PEM file of CAs the HSM's certificate must chain to");
  app.add_option("--cert", g.connection.cert, "client certificate PEM file");
  app.add_option("--key", g.connection.key, "client private key PEM file");
  app.add_option("--server-name", g.connection.server_name,
                 "name or IP the HSM's certificate must carry (default: any "
                 "certificate chaining to --ca)");
  app.add_option("--session-file", g.connection.session_file,
                 "where the login session is kept");
  app.add_option("--quorum-token", g.connection.quorum_token,
                 "an approved quorum token for an operation under quorum "
                 "control (default: $COFFER_QUORUM_TOKEN)");
}

// The CLI11 options made for one command's flags.
struct Bound {
  const Command* command = nullptr;
  CLI::App* app = nullptr;
  std::vector<std::pair<const Flag*, CLI::Option*>> options;
};

CLI::App* NounApp(CLI::App& app, std::map<std::string, CLI::App*>& nouns,
                  const Command& c) {
  CLI::App*& noun = nouns[c.noun];
  if (noun == nullptr) noun = app.add_subcommand(c.noun, c.help);
  return noun;
}

std::vector<Bound> BuildApp(CLI::App& app) {
  std::map<std::string, CLI::App*> nouns;
  std::vector<Bound> bound;
  for (const Command& c : CommandTable()) {
    CLI::App* noun = NounApp(app, nouns, c);
    if (c.handler == nullptr) continue;  // describes the noun only
    CLI::App* target = noun;
    if (!c.verb.empty()) {
      target = noun->add_subcommand(c.verb, c.help);
      noun->require_subcommand(1);
    }
    Bound b{&c, target, {}};
    for (const Flag& f : c.flags) {
      CLI::Option* opt = f.kind == Flag::kSwitch
                             ? target->add_flag(f.name, f.help)
                             : target->add_option(f.name, f.help);
      if (f.kind != Flag::kSwitch) opt->type_name("TEXT");
      if (f.kind == Flag::kList) {
        opt->expected(CLI::detail::expected_max_vector_size)
            ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
      }
      if (f.required) opt->required();
      if (!f.choices.empty()) opt->check(CLI::IsMember(f.choices));
      if (f.default_value != nullptr) opt->default_str(f.default_value);
      b.options.emplace_back(&f, opt);
    }
    bound.push_back(std::move(b));
  }
  return bound;
}

Args CollectArgs(const Bound& b) {
  Args args;
  for (const auto& [flag, opt] : b.options) {
    if (flag->default_value != nullptr) {
      args.SetDefault(flag->name, flag->default_value);
    }
    if (opt->count() == 0) continue;
    if (flag->kind == Flag::kList) {
      args.SetList(flag->name, opt->results());
      continue;
    }
    args.Set(flag->name,
             flag->kind == Flag::kSwitch ? "true" : opt->as<std::string>());
  }
  return args;
}

}  // namespace

int RunCommandLine(int argc, char** argv) {
  CLI::App app{"coffer: the command line for Coffer HSMs", "coffer"};
  app.fallthrough();  // global options may follow the command
  app.require_subcommand(1);
  app.footer(kFooter);
  GlobalOptions global;
  AddGlobalOptions(app, global);
  std::vector<Bound> bound = BuildApp(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }
  Output out(global.output == "json" ? Format::kJson : Format::kTable,
             std::cout, std::cerr);
  for (const Bound& b : bound) {
    if (!b.app->parsed()) continue;
    Args args = CollectArgs(b);
    Context ctx{args, global.connection, out};
    absl::Status status = b.command->handler(ctx);
    std::cout.flush();
    if (status.ok()) return kExitOk;
    const ExitCode code = ExitCodeOf(status);
    out.Error(status, code);
    return code;
  }
  std::cerr << app.help();
  return kExitUsage;
}

}  // namespace coffer::cli

int main(int argc, char** argv) {
  // Passwords and components pass through this process: keep them out of
  // core dumps and, where the memlock limit allows, in locked pages.
  (void)coffer::crypto::DisableCoreDumps();
  (void)coffer::crypto::InitSecureMemory();
  return coffer::cli::RunCommandLine(argc, argv);
}
