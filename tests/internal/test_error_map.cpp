// The one mapping of Redis errors (src/redis/error_map): every error code
// cachet acts on gets its cause and scope here, and only here.
#include "redis/error_map.hpp"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <string>

using cachet::ErrorCause;
using cachet::ErrorKind;
using cachet::ErrorScope;
using cachet::redis::map_error;
using cachet::redis::RawError;
using cachet::redis::reply_cause;
using cachet::redis::Stage;

namespace {

TEST(ErrorMap, ReplyCodesBecomeCauses) {
  EXPECT_EQ(reply_cause("WRONGTYPE Operation against a key holding the wrong kind of value"), ErrorCause::wrong_type);
  EXPECT_EQ(reply_cause("ERR value is not an integer or out of range"), ErrorCause::not_integer);
  EXPECT_EQ(reply_cause("ERR increment or decrement would overflow"), ErrorCause::overflow);
  EXPECT_EQ(reply_cause("NOAUTH Authentication required."), ErrorCause::auth);
  EXPECT_EQ(reply_cause("WRONGPASS invalid username-password pair or user is disabled."), ErrorCause::auth);
  EXPECT_EQ(reply_cause("NOPERM this user has no permissions to run the 'get' command"), ErrorCause::auth);
  EXPECT_EQ(reply_cause("LOADING Redis is loading the dataset in memory"), ErrorCause::loading);
  EXPECT_EQ(reply_cause("READONLY You can't write against a read only replica."), ErrorCause::read_only);
  EXPECT_EQ(reply_cause("MASTERDOWN Link with MASTER is down"), ErrorCause::master_down);
  EXPECT_EQ(reply_cause("BUSY Redis is busy running a script."), ErrorCause::busy);
  EXPECT_EQ(reply_cause("OOM command not allowed when used memory > 'maxmemory'."), ErrorCause::out_of_memory);
  EXPECT_EQ(reply_cause("MOVED 3999 127.0.0.1:6381"), ErrorCause::moved);
  EXPECT_EQ(reply_cause("ASK 3999 127.0.0.1:6381"), ErrorCause::ask);
  EXPECT_EQ(reply_cause("TRYAGAIN Multiple keys request during rehashing of slot"), ErrorCause::try_again);
  EXPECT_EQ(reply_cause("CLUSTERDOWN The cluster is down"), ErrorCause::cluster_down);
  // Codes are whole words: a prefix of another code is not that code.
  EXPECT_EQ(reply_cause("BUSYKEY Target key name already exists."), ErrorCause::unspecified);
  EXPECT_EQ(reply_cause("ERR unknown command 'FOO'"), ErrorCause::unspecified);
  EXPECT_EQ(reply_cause(""), ErrorCause::unspecified);
}

TEST(ErrorMap, ScopeSeparatesKeyAnswersFromOutages) {
  EXPECT_EQ(cachet::scope_of(ErrorCause::wrong_type), ErrorScope::key);
  EXPECT_EQ(cachet::scope_of(ErrorCause::not_integer), ErrorScope::key);
  EXPECT_EQ(cachet::scope_of(ErrorCause::overflow), ErrorScope::key);
  for (auto c : {ErrorCause::unspecified, ErrorCause::auth, ErrorCause::loading, ErrorCause::read_only,
                 ErrorCause::master_down, ErrorCause::busy, ErrorCause::out_of_memory, ErrorCause::moved,
                 ErrorCause::ask, ErrorCause::try_again, ErrorCause::cluster_down}) {
    EXPECT_EQ(cachet::scope_of(c), ErrorScope::backend) << cachet::to_string(c);
  }
  const cachet::BackendError key_answer(ErrorKind::reply, "WRONGTYPE ...", ErrorCause::wrong_type);
  EXPECT_FALSE(key_answer.is_outage());
  const cachet::BackendError plain(ErrorKind::reply, "ERR something");
  EXPECT_TRUE(plain.is_outage());
  EXPECT_EQ(plain.cause(), ErrorCause::unspecified);
}

TEST(ErrorMap, CommandRepliesKeepTheConnectionUnlessAFreshOneIsTheRemedy) {
  RawError raw;
  raw.stage = Stage::command;
  raw.endpoint = "127.0.0.1:6390";
  raw.command = "SET";
  raw.text = "WRONGTYPE Operation against a key holding the wrong kind of value";
  auto m = map_error(raw);
  EXPECT_EQ(m.failure.kind, ErrorKind::reply);
  EXPECT_EQ(m.failure.cause, ErrorCause::wrong_type);
  EXPECT_TRUE(m.failure.about_key());
  EXPECT_FALSE(m.discard_connection);
  EXPECT_NE(m.failure.message.find("SET on 127.0.0.1:6390"), std::string::npos) << m.failure.message;
  for (const char* text : {"READONLY You can't write against a read only replica.", "NOAUTH Authentication required.",
                           "MASTERDOWN Link with MASTER is down"}) {
    raw.text = text;
    m = map_error(raw);
    EXPECT_TRUE(m.discard_connection) << text;
    EXPECT_FALSE(m.failure.about_key()) << text;
  }
}

TEST(ErrorMap, HandshakeRepliesAreConnectionFailuresWithTheirCause) {
  RawError raw;
  raw.stage = Stage::handshake;
  raw.endpoint = "127.0.0.1:6390";
  raw.command = "AUTH";
  raw.text = "WRONGPASS invalid username-password pair or user is disabled.";
  const auto m = map_error(raw);
  EXPECT_EQ(m.failure.kind, ErrorKind::connection);
  EXPECT_EQ(m.failure.cause, ErrorCause::auth);
  EXPECT_TRUE(m.discard_connection);
  EXPECT_EQ(m.failure.message.rfind("AUTH failed: WRONGPASS", 0), 0u) << m.failure.message;
}

TEST(ErrorMap, TransportFailuresByCause) {
  RawError raw;
  raw.stage = Stage::command;
  raw.net = cachet::net::Cause::timeout;
  raw.endpoint = "127.0.0.1:6390";
  raw.command = "GET";
  raw.timeout = std::chrono::milliseconds(200);
  auto m = map_error(raw);
  EXPECT_EQ(m.failure.kind, ErrorKind::timeout);
  EXPECT_EQ(m.failure.message, "command timeout after 200 ms (GET on 127.0.0.1:6390)");
  raw.net = cachet::net::Cause::refused;
  raw.stage = Stage::connect;
  raw.command = "";
  m = map_error(raw);
  EXPECT_EQ(m.failure.kind, ErrorKind::connection);
  EXPECT_EQ(m.failure.message, "connection refused (127.0.0.1:6390)");
  EXPECT_EQ(m.failure.cause, ErrorCause::unspecified);
  raw.net = cachet::net::Cause::tls_handshake_timeout;
  m = map_error(raw);
  EXPECT_EQ(m.failure.kind, ErrorKind::timeout);
  EXPECT_EQ(m.failure.cause, ErrorCause::tls_handshake_timeout);
  EXPECT_EQ(m.failure.message, "TLS handshake timeout after 200 ms (127.0.0.1:6390)");
}

TEST(ErrorMap, TlsFailuresKeepTheTransportsWordsAndGetTheirCause) {
  struct Case {
    cachet::net::Cause net;
    ErrorCause cause;
  };
  for (const Case& c : {Case{cachet::net::Cause::tls_untrusted, ErrorCause::certificate_untrusted},
                        Case{cachet::net::Cause::tls_hostname, ErrorCause::certificate_host_mismatch},
                        Case{cachet::net::Cause::tls_expired, ErrorCause::certificate_expired},
                        Case{cachet::net::Cause::tls_client_cert_required, ErrorCause::client_certificate_required},
                        Case{cachet::net::Cause::tls_client_cert_rejected, ErrorCause::client_certificate_rejected},
                        Case{cachet::net::Cause::tls_plaintext_peer, ErrorCause::plaintext_server},
                        Case{cachet::net::Cause::tls_peer_speaks_tls, ErrorCause::tls_server},
                        Case{cachet::net::Cause::tls_protocol, ErrorCause::unspecified}}) {
    RawError raw;
    raw.stage = Stage::connect;
    raw.net = c.net;
    raw.text = "TLS: what the transport said";
    raw.endpoint = "localhost:6390";
    const auto m = map_error(raw);
    EXPECT_EQ(m.failure.kind, ErrorKind::tls) << cachet::net::to_string(c.net);
    EXPECT_EQ(m.failure.cause, c.cause) << cachet::net::to_string(c.net);
    EXPECT_EQ(m.failure.message, "TLS: what the transport said (localhost:6390)");
    EXPECT_TRUE(m.discard_connection);
    EXPECT_EQ(cachet::scope_of(m.failure.cause), ErrorScope::backend);
  }
}

}  // namespace
