#include "tls.h"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <poll.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

#include "i18n.h"
#include "options.h"

namespace pisock {

namespace {

constexpr std::size_t kRelayBlock = std::size_t{ 16 } * 1024; // one TLS record's worth

void setBlocking(int fd, bool blocking)
{
    const int flags = ::fcntl(fd, F_GETFL);
    ::fcntl(fd, F_SETFL, blocking ? flags & ~O_NONBLOCK : flags | O_NONBLOCK);
}

bool isAddress(const std::string &host)
{
    unsigned char buf[sizeof(in6_addr)];
    return ::inet_pton(AF_INET, host.c_str(), buf) == 1 ||
           ::inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

bool writeAll(int fd, const char *data, std::size_t size)
{
    while (size > 0) {
        const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        data += n;
        size -= static_cast<std::size_t>(n);
    }
    return true;
}

} // namespace

struct TlsClient::State {
    gnutls_certificate_credentials_t credentials = nullptr;
    gnutls_session_t session = nullptr;
    UniqueFd tcp;
    UniqueFd plain; // the relay's end of the socketpair
    std::thread relay;

    ~State()
    {
        if (relay.joinable())
            relay.join();
        if (session)
            gnutls_deinit(session);
        if (credentials)
            gnutls_certificate_free_credentials(credentials);
    }

    // Waits until the TCP socket can take more (GnuTLS said GNUTLS_E_AGAIN).
    void waitWritable() const
    {
        pollfd p{ tcp.get(), POLLOUT, 0 };
        ::poll(&p, 1, -1);
    }

    // Server to client: false once nothing more will come (close_notify, error, or the plain
    // side is gone). The socket is non-blocking: a record that holds no data (a TLS 1.3
    // session ticket) must not leave the relay blocked while the client has something to send.
    bool fromServer()
    {
        char buf[kRelayBlock];
        for (;;) {
            const ssize_t n = gnutls_record_recv(session, buf, sizeof(buf));
            if (n == GNUTLS_E_INTERRUPTED)
                continue;
            if (n == GNUTLS_E_AGAIN)
                return true; // back to poll()
            if (n > 0 && writeAll(plain.get(), buf, static_cast<std::size_t>(n)))
                return true;
            // close_notify, an unannounced close or an error: the client sees the end.
            ::shutdown(plain.get(), SHUT_WR);
            return false;
        }
    }

    // Client to server: false once the client sent its last byte (or the server is gone).
    bool toServer()
    {
        char buf[kRelayBlock];
        const ssize_t n = ::recv(plain.get(), buf, sizeof(buf), 0);
        if (n < 0 && errno == EINTR)
            return true;
        if (n > 0) {
            for (ssize_t sent = 0; sent < n;) {
                const ssize_t m =
                        gnutls_record_send(session, buf + sent, static_cast<std::size_t>(n - sent));
                if (m == GNUTLS_E_INTERRUPTED)
                    continue;
                if (m == GNUTLS_E_AGAIN) {
                    waitWritable(); // then the same call again, as GnuTLS asks
                    continue;
                }
                if (m < 0)
                    return false;
                sent += m;
            }
            return true;
        }
        // The client's half-close: close_notify, then our FIN; its replies still come back.
        while (gnutls_bye(session, GNUTLS_SHUT_WR) == GNUTLS_E_AGAIN)
            waitWritable();
        ::shutdown(tcp.get(), SHUT_WR);
        return false;
    }

    bool prepare(const std::string &host, const TlsOptions &options, Failure &failure);

    void run()
    {
        bool serverOpen = true;
        bool clientOpen = true;
        while (serverOpen) {
            const short clientEvents = clientOpen ? POLLIN : 0;
            pollfd fds[2] = { { tcp.get(), POLLIN, 0 }, { plain.get(), clientEvents, 0 } };
            // Records already decrypted wait in GnuTLS, not in the socket.
            const bool pending = gnutls_record_check_pending(session) > 0;
            if (!pending && ::poll(fds, 2, -1) < 0) {
                if (errno == EINTR)
                    continue;
                break;
            }
            if (fds[1].revents & POLLHUP)
                break; // pisock closed its side: nobody reads what would still come
            if (pending || (fds[0].revents & (POLLIN | POLLHUP | POLLERR)))
                serverOpen = fromServer();
            if (clientOpen && (fds[1].revents & (POLLIN | POLLERR)))
                clientOpen = toServer();
        }
        plain.reset(); // the client sees EOF if it had not closed
    }
};

TlsClient::TlsClient() : state_(std::make_unique<State>())
{
}

TlsClient::~TlsClient() = default;

namespace {

// Why a failed handshake failed, for the user.
Failure handshakeFailure(gnutls_session_t session, int ret, const std::string &server,
                         std::optional<std::chrono::milliseconds> timeout)
{
    if (ret == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
        gnutls_datum_t text{};
        gnutls_certificate_verification_status_print(gnutls_session_get_verify_cert_status(session),
                                                     GNUTLS_CRT_X509, &text, 0);
        std::string why(reinterpret_cast<const char *>(text.data), text.size);
        gnutls_free(text.data);
        return { kStatusNetwork,
                 trf("TLS: the certificate of {server} is not trusted: {reason} (--ca FILE "
                     "trusts a certificate of your own; --insecure skips the check)",
                     fmt::arg("server", server), fmt::arg("reason", why)) };
    }
    if (ret == GNUTLS_E_TIMEDOUT && timeout)
        return { kStatusTimeout,
                 trf("TLS: no handshake with {server} within {time}", fmt::arg("server", server),
                     fmt::arg("time", formatDuration(*timeout))) };
    return { kStatusNetwork,
             trf("TLS: handshake with {server} failed: {reason}", fmt::arg("server", server),
                 fmt::arg("reason", gnutls_strerror(ret))) };
}

} // namespace

// The credentials and the session, set to check the certificate for host as options say.
bool TlsClient::State::prepare(const std::string &host, const TlsOptions &options, Failure &failure)
{
    failure = { kStatusNetwork, tr("TLS: out of memory") };
    if (gnutls_certificate_allocate_credentials(&credentials) < 0)
        return false;
    if (!options.insecure) {
        const int loaded = options.caFile.empty()
                                   ? gnutls_certificate_set_x509_system_trust(credentials)
                                   : gnutls_certificate_set_x509_trust_file(credentials,
                                                                            options.caFile.c_str(),
                                                                            GNUTLS_X509_FMT_PEM);
        if (loaded <= 0 && !options.caFile.empty()) {
            failure = { kStatusUsage, trf("--ca: no certificate could be read from {file}",
                                          fmt::arg("file", options.caFile)) };
            return false;
        }
    }
    if (gnutls_init(&session, GNUTLS_CLIENT) < 0 || gnutls_set_default_priority(session) < 0 ||
        gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, credentials) < 0)
        return false;
    if (!host.empty() && !isAddress(host))
        gnutls_server_name_set(session, GNUTLS_NAME_DNS, host.data(), host.size());
    if (!options.insecure)
        gnutls_session_set_verify_cert(session, host.empty() ? nullptr : host.c_str(), 0);
    return true;
}

UniqueFd TlsClient::start(UniqueFd socket, const std::string &host, const std::string &server,
                          const TlsOptions &options,
                          std::optional<std::chrono::milliseconds> timeout, Failure &failure)
{
    State &s = *state_;
    if (!s.prepare(host, options, failure))
        return {};
    setBlocking(socket.get(), true);
    gnutls_transport_set_int(s.session, socket.get());
    gnutls_handshake_set_timeout(s.session, timeout ? static_cast<unsigned>(timeout->count())
                                                    : GNUTLS_DEFAULT_HANDSHAKE_TIMEOUT);
    int ret = 0;
    do {
        ret = gnutls_handshake(s.session);
    } while (ret < 0 && gnutls_error_is_fatal(ret) == 0);
    if (ret < 0) {
        failure = handshakeFailure(s.session, ret, server, timeout);
        return {};
    }
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
        failure = { kStatusNetwork,
                    trf("TLS: {reason}", fmt::arg("reason", std::strerror(errno))) };
        return {};
    }
    setBlocking(socket.get(), false); // the relay polls it
    s.tcp = std::move(socket);
    s.plain.reset(pair[0]);
    UniqueFd mine(pair[1]);
    setBlocking(mine.get(), false); // as connectTo() gives it
    s.relay = std::thread([&s] { s.run(); });
    return mine;
}

} // namespace pisock
