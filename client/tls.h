#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "common/unique_fd.h"
#include "status.h"

namespace pisock {

// pisock --tls: how to trust the server's certificate.
struct TlsOptions {
    bool enabled = false; // --tls
    std::string caFile; // --ca FILE: trust the certificates in it (PEM), not the system's
    bool insecure = false; // --insecure: no verification at all (encrypted, not authenticated)
};

// TLS to a front end that terminates it for pisockd (stunnel, HAProxy: docs/BEHIND-A-PROXY.md),
// with GnuTLS. The rest of pisock is unchanged: start() hands back the plain side of a
// socketpair, and a thread relays between it and the TLS session, a half-close included
// (close_notify, then our FIN). Owns the session, the TCP socket and the thread; the
// destructor waits for the thread, which ends once the plain side is closed.
class TlsClient
{
public:
    TlsClient();
    ~TlsClient();
    TlsClient(const TlsClient &) = delete;
    TlsClient &operator=(const TlsClient &) = delete;

    // Handshakes over the connected socket with the server named host (the name checked in
    // its certificate, and sent as SNI when it is a name), within timeout. Returns the socket
    // to use instead (non-blocking, close-on-exec), or an invalid fd with failure filled
    // (status 3 on timeout, 1 otherwise); server is the endpoint as written, for messages.
    UniqueFd start(UniqueFd socket, const std::string &host, const std::string &server,
                   const TlsOptions &options, std::optional<std::chrono::milliseconds> timeout,
                   Failure &failure);

private:
    struct State;
    std::unique_ptr<State> state_;
};

} // namespace pisock
