#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "common/proxy_header.h"
#include "service.h"

namespace pisock {

// Decides for a ProxyStage what its connection becomes; the server implements it.
class ProxyStageOwner
{
public:
    // Connection id's header is complete and valid. Returns the service for the rest of the
    // stream (it gets the bytes after the header at once), or nullptr to refuse the client:
    // the stage then sends refusal, if not empty, and ends the connection.
    virtual std::unique_ptr<Service> onProxyHeader(std::uint64_t id, const ProxyHeader &header,
                                                   std::string_view &refusal) noexcept = 0;
    // Connection id is refused for its first bytes (why: one line): not a valid header where
    // one is expected, the stream ended before the header did, or a header where none is.
    virtual void onProxyRefused(std::uint64_t id, std::string_view why) noexcept = 0;

protected:
    ~ProxyStageOwner() = default;
};

// The first stage of a connection whose listener says whether a PROXY protocol header comes
// first (docs/PROXY-PROTOCOL.md). Expecting one, it holds the input until the header is
// complete and valid, asks its owner for the service of the real client and from then on
// passes every call straight to it; a bad header ends the connection. Expecting none, it passes
// everything through from the start, but refuses a connection whose first bytes are a PROXY
// header (a proxy sending to a listener not marked ",proxy": serving it would take the proxy
// for the client). Owns the inner service; borrows its owner and, while attached, the outlet.
class ProxyStage final : public Service
{
public:
    // Expecting a header: the inner service comes from the owner once the header is read.
    ProxyStage(ProxyStageOwner &owner, std::uint64_t id) noexcept;
    // Expecting none: inner serves the connection, unless it starts with a header.
    ProxyStage(ProxyStageOwner &owner, std::uint64_t id, std::unique_ptr<Service> inner) noexcept;

    Verdict onInput(Buffer &in, Buffer &out, std::size_t outLimit, bool eof) noexcept override;
    [[nodiscard]] std::uint64_t messages() const noexcept override;
    [[nodiscard]] std::uint64_t dropped() const noexcept override;
    [[nodiscard]] std::string_view roomName() const noexcept override;
    void attach(Outlet &outlet) noexcept override;
    void detach() noexcept override;
    void onLowWater(Buffer &out) noexcept override;
    // Passed to the inner service once there is one (a ws stage frames them); before, the line.
    void notice(Buffer &out, std::string_view line) noexcept override;
    void onStop(Buffer &out, std::string_view line) noexcept override;

private:
    enum class Phase {
        Header, // waiting for the header
        Guard, // no header expected; the first bytes not looked at yet
        Through, // the inner service has the stream
        Refused, // ending; input is discarded
    };

    Verdict readHeader(Buffer &in, Buffer &out, std::size_t outLimit, bool eof) noexcept;
    Verdict guard(Buffer &in, Buffer &out, std::size_t outLimit, bool eof) noexcept;
    Verdict refuse(Buffer &in, Buffer &out, std::string_view line) noexcept;

    ProxyStageOwner &owner_;
    std::uint64_t id_;
    std::unique_ptr<Service> inner_;
    Outlet *outlet_ = nullptr;
    Phase phase_;
    bool detached_ = false;
};

} // namespace pisock
