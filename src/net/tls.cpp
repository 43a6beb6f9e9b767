#include "net/tls.hpp"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "net/probe.hpp"

namespace cachet::net {

namespace {

bool is_ip_literal(const std::string& name) {
  unsigned char buf[sizeof(in6_addr)];
  return ::inet_pton(AF_INET, name.c_str(), buf) == 1 || ::inet_pton(AF_INET6, name.c_str(), buf) == 1;
}

// Empties this thread's OpenSSL error queue, which SSL_get_error() reads, so
// that it describes only the next call. ERR_clear_error() resets all 16 slots
// whether or not they are used (OpenSSL 3.0: about 800 instructions, a sixth
// of an SSL_read of a small reply); looking first costs about 200, and the
// queue is almost always empty already.
void clear_error_queue() noexcept {
  if (ERR_peek_error() != 0) ERR_clear_error();
}

}  // namespace

// OpenSSL calls these with the session as BIO data / SSL app data.
struct TlsSession::Io {
  static TlsSession& of(BIO* bio) { return *static_cast<TlsSession*>(BIO_get_data(bio)); }

  static int write(BIO* bio, const char* data, std::size_t len, std::size_t* written) {
    TlsSession& s = of(bio);
    BIO_clear_retry_flags(bio);
    const ssize_t n = s.socket_.send_once(data, len, s.dont_wait_);
    if (n > 0) {
      *written = static_cast<std::size_t>(n);
      return 1;
    }
    s.facts_.last_errno = errno;
    if (errno == EAGAIN || errno == EWOULDBLOCK) BIO_set_retry_write(bio);
    return 0;
  }

  static int read(BIO* bio, char* buf, std::size_t cap, std::size_t* got) {
    TlsSession& s = of(bio);
    BIO_clear_retry_flags(bio);
    const ssize_t n = s.socket_.recv_once(buf, cap, s.dont_wait_);
    if (n > 0) {
      if (s.recording_) {
        TlsFacts& f = s.facts_;
        const std::size_t keep = std::min(sizeof f.first_bytes - std::min(f.received, sizeof f.first_bytes),
                                          static_cast<std::size_t>(n));
        std::memcpy(f.first_bytes + std::min(f.received, sizeof f.first_bytes), buf, keep);
        f.received += static_cast<std::size_t>(n);
      }
      *got = static_cast<std::size_t>(n);
      return 1;
    }
    if (n == 0) {
      s.facts_.peer_eof = true;
      return 0;
    }
    s.facts_.last_errno = errno;
    if (errno == EAGAIN || errno == EWOULDBLOCK) BIO_set_retry_read(bio);
    return 0;
  }

  static long ctrl(BIO*, int cmd, long, void*) { return cmd == BIO_CTRL_FLUSH ? 1 : 0; }

  static int create(BIO* bio) {
    BIO_set_init(bio, 1);
    return 1;
  }

  static BIO_METHOD* method() {
    // Built once, kept for the life of the process.
    static BIO_METHOD* const m = [] {
      BIO_METHOD* meth = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "cachet socket");
      if (meth == nullptr) return meth;
      BIO_meth_set_write_ex(meth, &Io::write);
      BIO_meth_set_read_ex(meth, &Io::read);
      BIO_meth_set_ctrl(meth, &Io::ctrl);
      BIO_meth_set_create(meth, &Io::create);
      return meth;
    }();
    return m;
  }

  static TlsSession& of(SSL* ssl) { return *static_cast<TlsSession*>(SSL_get_app_data(ssl)); }

  static int verify(int ok, X509_STORE_CTX* store) {
    if (ok == 0) {
      auto* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
      TlsSession& s = of(ssl);
      if (s.facts_.verify_error == 0) record_verify_failure(store, s.facts_);
    }
    return ok;
  }

  // Called on a client when the server asks for its certificate.
  static int cert_requested(SSL* ssl, void*) {
    of(ssl).facts_.cert_requested = true;
    return 1;  // go on, with the certificate configured (if any)
  }

  static int new_session(SSL* ssl, SSL_SESSION*) {
    of(ssl).facts_.ticket_received = true;
    return 0;  // not kept: OpenSSL frees it
  }
};

void TlsSession::prepare_context(ssl_ctx_st* ctx) {
  SSL_CTX_set_cert_cb(ctx, &Io::cert_requested, nullptr);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx, &Io::new_session);
}

TlsSession::~TlsSession() { SSL_free(ssl_); }

template <class Op>
int TlsSession::drive(Op&& op, const Wait& wait, bool handshaking, NetError& error) {
  dont_wait_ = wait.has_deadline();
  // A handshake that got no byte back by half its time probes for a
  // plaintext server (once).
  Clock::time_point probe_at = Clock::time_point::max();
  if (handshaking && wait.has_deadline()) probe_at = Clock::now() + (wait.deadline() - Clock::now()) / 2;
  for (;;) {
    clear_error_queue();
    const int r = op();
    if (r > 0) return 1;
    const int e = SSL_get_error(ssl_, r);
    const short events = e == SSL_ERROR_WANT_READ ? POLLIN : e == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
    if (events == 0) {
      error = classify(e, handshaking, facts_, socket_.name());
      return 0;
    }
    if (!wait.has_deadline()) {  // the kernel's io_timeout ran out
      error = make_error(Cause::timeout, events == POLLIN ? "timed out reading" : "timed out writing", 0,
                         socket_.name());
      return 0;
    }
    for (;;) {
      if (Clock::now() >= probe_at && facts_.received == 0) {
        probe_at = Clock::time_point::max();
        if (probe_plaintext(wait)) {
          error = classify(SSL_ERROR_SSL, true, facts_, socket_.name());
          return 0;
        }
      }
      const int p = socket_.poll_for(events, Wait::until(std::min(probe_at, wait.deadline())));
      if (p > 0) break;
      if (p < 0) {
        error = make_error(Cause::io, "poll failed", errno, socket_.name());
        return 0;
      }
      if (wait.expired()) {
        error = handshaking ? make_error(Cause::tls_handshake_timeout, "TLS handshake timeout", 0, socket_.name())
                            : make_error(Cause::timeout, events == POLLIN ? "timed out reading" : "timed out writing",
                                         0, socket_.name());
        return 0;
      }
    }
  }
}

bool TlsSession::probe_plaintext(const Wait& wait) {
  facts_.plaintext_reply = answers_plaintext_resp(socket_, wait);
  return facts_.plaintext_reply;
}

std::unique_ptr<TlsSession> TlsSession::handshake(Socket& socket, const TlsContext& context, const std::string& host,
                                                  const Wait& wait, NetError& error) {
  SSL* ssl = SSL_new(context.native());
  BIO* bio = Io::method() != nullptr ? BIO_new(Io::method()) : nullptr;
  if (ssl == nullptr || bio == nullptr) {
    SSL_free(ssl);
    BIO_free(bio);
    error = make_error(Cause::tls_protocol, "TLS: cannot create a session (out of memory)", 0, socket.name());
    return nullptr;
  }
  std::unique_ptr<TlsSession> s(new TlsSession(socket, ssl));
  BIO_set_data(bio, s.get());
  SSL_set_bio(ssl, bio, bio);  // the SSL owns the BIO
  SSL_set_app_data(ssl, s.get());

  const std::string& name = context.server_name().empty() ? host : context.server_name();
  const bool ip = is_ip_literal(name);
  bool ok = ip || SSL_set_tlsext_host_name(ssl, name.c_str()) == 1;  // no SNI for an address (RFC 6066)
  if (context.verify_peer()) {
    SSL_set_verify(ssl, SSL_VERIFY_PEER, &Io::verify);
    if (context.check_hostname()) {
      s->facts_.expected_name = name;
      if (ip) {
        ok = ok && X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str()) == 1;
      } else {
        SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        ok = ok && SSL_set1_host(ssl, name.c_str()) == 1;
      }
    }
  } else {
    SSL_set_verify(ssl, SSL_VERIFY_NONE, nullptr);
  }
  if (!ok) {
    ERR_clear_error();
    error = make_error(Cause::tls_protocol, "TLS: cannot use '" + name + "' as the server name", 0, socket.name());
    return nullptr;
  }
  s->facts_.sent_client_cert = context.has_client_certificate();
  s->recording_ = true;
  const auto start = Clock::now();
  if (!s->drive([&] { return SSL_connect(ssl); }, wait, true, error)) return nullptr;
  s->recording_ = false;
  if (s->facts_.cert_requested && SSL_version(ssl) == TLS1_3_VERSION &&
      !s->await_verdict(wait, Clock::now() - start, error)) {
    return nullptr;
  }
  return s;
}

bool TlsSession::await_verdict(const Wait& wait, Clock::duration handshake_time, NetError& error) {
  const auto bound = std::max<Clock::duration>(handshake_time, std::chrono::milliseconds(10));
  const Wait verdict = Wait::until(std::min(wait.deadline(), Clock::now() + bound));
  dont_wait_ = true;
  for (;;) {
    clear_error_queue();
    char byte;
    std::size_t n = 0;
    const int r = SSL_peek_ex(ssl_, &byte, 1, &n);
    if (r == 1 || facts_.ticket_received) return true;
    const int e = SSL_get_error(ssl_, r);
    if (e != SSL_ERROR_WANT_READ) {
      error = classify(e, true, facts_, socket_.name());
      return false;
    }
    if (socket_.poll_for(POLLIN, verdict) <= 0) return true;  // no verdict in time: taken as accepted
  }
}

std::size_t TlsSession::read_some(char* buf, std::size_t cap, const Wait& wait, NetError& error) {
  std::size_t got = 0;
  if (drive([&] { return SSL_read_ex(ssl_, buf, cap, &got); }, wait, false, error) == 0) return 0;
  return got;
}

bool TlsSession::write_all(const char* data, std::size_t len, const Wait& wait, NetError& error) {
  if (len == 0) return true;
  std::size_t written = 0;  // without SSL_MODE_ENABLE_PARTIAL_WRITE: all of it, or a failure
  return drive([&] { return SSL_write_ex(ssl_, data, len, &written); }, wait, false, error) != 0;
}

bool TlsSession::has_buffered() const noexcept { return SSL_has_pending(ssl_) == 1; }

bool TlsSession::idle_and_open() noexcept {
  // Nothing buffered in OpenSSL and nothing on the socket: open and idle, known
  // from one recv() without entering OpenSSL. Anything else (a session ticket,
  // an alert, EOF, data) goes through SSL_peek, which tells them apart.
  if (SSL_has_pending(ssl_) == 0 && socket_.idle_and_open()) return true;
  dont_wait_ = true;
  clear_error_queue();
  char byte;
  std::size_t n = 0;
  const int r = SSL_peek_ex(ssl_, &byte, 1, &n);
  if (r == 1) return false;  // application data nobody asked for
  const int e = SSL_get_error(ssl_, r);
  clear_error_queue();
  return e == SSL_ERROR_WANT_READ;
}

TlsInfo TlsSession::info() const { return session_info(ssl_); }

}  // namespace cachet::net
