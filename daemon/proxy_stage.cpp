#include "proxy_stage.h"

namespace pisock {

namespace {

// What a client refused for its header is told: it may be a person who connected to the
// proxy port by hand, or a proxy set up for the wrong listener.
constexpr std::string_view kBadHeaderLine = "error: PROXY protocol header expected\n";
constexpr std::string_view kUnexpectedHeaderLine = "error: PROXY protocol header not expected\n";

// The shortest start that names a header: "PROXY " and the 12-byte v2 signature.
constexpr std::size_t kV1Start = 6;
constexpr std::size_t kV2Signature = 12;

} // namespace

ProxyStage::ProxyStage(ProxyStageOwner &owner, std::uint64_t id) noexcept
    : owner_(owner), id_(id), phase_(Phase::Header)
{
}

ProxyStage::ProxyStage(ProxyStageOwner &owner, std::uint64_t id,
                       std::unique_ptr<Service> inner) noexcept
    : owner_(owner), id_(id), inner_(std::move(inner)), phase_(Phase::Guard)
{
}

Verdict ProxyStage::onInput(Buffer &in, Buffer &out, std::size_t outLimit, bool eof) noexcept
{
    switch (phase_) {
    case Phase::Through:
        return inner_->onInput(in, out, outLimit, eof);
    case Phase::Header:
        return readHeader(in, out, outLimit, eof);
    case Phase::Guard:
        return guard(in, out, outLimit, eof);
    case Phase::Refused:
        break;
    }
    in.clear();
    return Verdict::Finish;
}

Verdict ProxyStage::refuse(Buffer &in, Buffer &out, std::string_view line) noexcept
{
    phase_ = Phase::Refused;
    inner_.reset();
    in.clear();
    if (!line.empty())
        out.append(line); // no room: the connection closes without it
    return Verdict::Finish;
}

Verdict ProxyStage::readHeader(Buffer &in, Buffer &out, std::size_t outLimit, bool eof) noexcept
{
    const ProxyParse parse = parseProxyHeader(in.view());
    switch (parse.status) {
    case ProxyParse::Status::NeedMore:
        if (!eof)
            return Verdict::Continue; // the owner's deadline bounds the wait
        owner_.onProxyRefused(id_, in.empty() ? "closed before sending a PROXY header"
                                              : "closed in the middle of its PROXY header");
        return refuse(in, out, {});
    case ProxyParse::Status::Invalid:
        owner_.onProxyRefused(id_, parse.error);
        return refuse(in, out, kBadHeaderLine);
    case ProxyParse::Status::Done:
        break;
    }
    std::string_view refusal;
    inner_ = owner_.onProxyHeader(id_, parse.header, refusal);
    if (!inner_)
        return refuse(in, out, refusal);
    in.consume(parse.consumed);
    phase_ = Phase::Through;
    if (outlet_ && !detached_)
        inner_->attach(*outlet_);
    if (in.empty() && !eof)
        return Verdict::Continue;
    return inner_->onInput(in, out, outLimit, eof);
}

Verdict ProxyStage::guard(Buffer &in, Buffer &out, std::size_t outLimit, bool eof) noexcept
{
    // Decided on the first bytes, as they come: a proxy sends its header in one piece, before
    // anything of the client's. Only a complete header, or its unmistakable start, is refused;
    // anything else is the client's, "PROXY" as a chat message included.
    const std::string_view first = in.view();
    const ProxyParse parse = parseProxyHeader(first);
    const bool header = parse.status == ProxyParse::Status::Done ||
                        (parse.status == ProxyParse::Status::NeedMore &&
                         first.size() >= (first.starts_with('P') ? kV1Start : kV2Signature));
    if (header) {
        owner_.onProxyRefused(id_, "sent a PROXY protocol header to a listener not marked "
                                   "\",proxy\"");
        return refuse(in, out, kUnexpectedHeaderLine);
    }
    if (!first.empty())
        phase_ = Phase::Through;
    return inner_->onInput(in, out, outLimit, eof);
}

std::uint64_t ProxyStage::messages() const noexcept
{
    return inner_ ? inner_->messages() : 0;
}

std::uint64_t ProxyStage::dropped() const noexcept
{
    return inner_ ? inner_->dropped() : 0;
}

std::string_view ProxyStage::roomName() const noexcept
{
    return inner_ ? inner_->roomName() : std::string_view{};
}

void ProxyStage::attach(Outlet &outlet) noexcept
{
    outlet_ = &outlet;
    if (inner_)
        inner_->attach(outlet);
}

void ProxyStage::detach() noexcept
{
    detached_ = true;
    outlet_ = nullptr;
    if (inner_)
        inner_->detach();
}

void ProxyStage::onLowWater(Buffer &out) noexcept
{
    // Guard too: a broadcast listener that never sends is told of its drops all the same.
    if (phase_ == Phase::Through || phase_ == Phase::Guard)
        inner_->onLowWater(out);
}

void ProxyStage::notice(Buffer &out, std::string_view line) noexcept
{
    if (phase_ == Phase::Through || phase_ == Phase::Guard)
        inner_->notice(out, line);
    else if (phase_ == Phase::Header)
        Service::notice(out, line); // to the proxy, which passes it on
}

void ProxyStage::onStop(Buffer &out, std::string_view line) noexcept
{
    if (phase_ == Phase::Through || phase_ == Phase::Guard)
        inner_->onStop(out, line);
    else if (phase_ == Phase::Header)
        Service::onStop(out, line); // to the proxy, which passes it on
}

} // namespace pisock
