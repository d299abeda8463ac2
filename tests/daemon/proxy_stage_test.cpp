#include "daemon/proxy_stage.h"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tests/catch.h"

using namespace pisock;

namespace {

// An inner service that records what it is told: every byte it gets, attach and detach.
struct Recorder final : Service {
    std::string got;
    int attached = 0;
    int detached = 0;
    int lowWater = 0;
    void onLowWater(Buffer &) noexcept override { ++lowWater; }
    Verdict onInput(Buffer &in, Buffer &out, std::size_t, bool) noexcept override
    {
        got += in.view();
        out.append(in.view());
        in.clear();
        return Verdict::Continue;
    }
    [[nodiscard]] std::uint64_t messages() const noexcept override { return 7; }
    void attach(Outlet &) noexcept override { ++attached; }
    void detach() noexcept override { ++detached; }
};

struct Owner final : ProxyStageOwner {
    std::vector<ProxyHeader> headers;
    std::vector<std::string> refused;
    std::string_view refusal; // given back when refuse is set
    bool refuse = false;
    Recorder *inner = nullptr;

    std::unique_ptr<Service> onProxyHeader(std::uint64_t, const ProxyHeader &header,
                                           std::string_view &line) noexcept override
    {
        headers.push_back(header);
        if (refuse) {
            line = refusal;
            return nullptr;
        }
        auto service = std::make_unique<Recorder>();
        inner = service.get();
        return service;
    }
    void onProxyRefused(std::uint64_t, std::string_view why) noexcept override
    {
        refused.emplace_back(why);
    }
};

struct NullOutlet final : Outlet {
    [[nodiscard]] std::size_t outputCost() const noexcept override { return 0; }
    [[nodiscard]] bool makeRoomFor(const Chunk &) noexcept override { return true; }
    bool share(Chunk &) noexcept override { return false; }
    void watchLowWater() noexcept override {}
    void abort(const char *) noexcept override {}
};

constexpr std::size_t kNoLimit = Buffer::kUnlimited;
const std::string kHeader = "PROXY TCP4 192.0.2.1 127.0.0.1 5000 7000\r\n";

Verdict feed(ProxyStage &stage, Buffer &in, Buffer &out, std::string_view bytes, bool eof = false)
{
    in.append(bytes);
    return stage.onInput(in, out, kNoLimit, eof);
}

} // namespace

TEST_CASE("a header split anywhere is read once; the bytes after it go to the inner service",
          "[proxy_stage]")
{
    for (std::size_t split = 0; split <= kHeader.size(); ++split) {
        Owner owner;
        ProxyStage stage(owner, 1);
        NullOutlet outlet;
        stage.attach(outlet);
        Buffer in;
        Buffer out;
        CHECK(feed(stage, in, out, kHeader.substr(0, split)) == Verdict::Continue);
        CHECK(owner.headers.empty() == (split < kHeader.size()));
        CHECK(feed(stage, in, out, kHeader.substr(split) + "hello\n") == Verdict::Continue);
        REQUIRE(owner.headers.size() == 1);
        CHECK(owner.headers[0].version == 1);
        REQUIRE(owner.inner != nullptr);
        CHECK(owner.inner->attached == 1); // attached once it exists, to the stage's outlet
        CHECK(owner.inner->got == "hello\n");
        CHECK(stage.messages() == 7);
        CHECK(feed(stage, in, out, "more") == Verdict::Continue);
        CHECK(owner.inner->got == "hello\nmore");
        CHECK(out.view() == "hello\nmore");
        stage.detach();
        CHECK(owner.inner->detached == 1);
        CHECK(owner.refused.empty());
    }
}

TEST_CASE("a bad header is refused with a line; a stream that ends early without one",
          "[proxy_stage]")
{
    Owner owner;
    ProxyStage stage(owner, 1);
    Buffer in;
    Buffer out;
    CHECK(feed(stage, in, out, "GET / HTTP/1.1\r\n") == Verdict::Finish);
    CHECK(out.view() == "error: PROXY protocol header expected\n");
    CHECK(in.empty());
    REQUIRE(owner.refused.size() == 1);
    CHECK(owner.headers.empty());
    // Whatever comes after is discarded.
    CHECK(feed(stage, in, out, "more") == Verdict::Finish);
    CHECK(in.empty());

    Owner early;
    ProxyStage partial(early, 2);
    Buffer in2;
    Buffer out2;
    CHECK(feed(partial, in2, out2, "PROXY TCP4 ") == Verdict::Continue);
    CHECK(partial.onInput(in2, out2, kNoLimit, true) == Verdict::Finish);
    CHECK(out2.empty());
    REQUIRE(early.refused.size() == 1);
    CHECK(early.refused[0] == "closed in the middle of its PROXY header");
}

TEST_CASE("the owner may refuse the client a header names", "[proxy_stage]")
{
    Owner owner;
    owner.refuse = true;
    owner.refusal = "error: server busy\n";
    ProxyStage stage(owner, 1);
    Buffer in;
    Buffer out;
    CHECK(feed(stage, in, out, kHeader + "hello\n") == Verdict::Finish);
    CHECK(out.view() == "error: server busy\n");
    CHECK(in.empty());
    CHECK(stage.messages() == 0);
}

TEST_CASE("without ,proxy: a client that never sends is told of its low water", "[proxy_stage]")
{
    Owner owner;
    auto inner = std::make_unique<Recorder>();
    Recorder &seen = *inner;
    ProxyStage stage(owner, 1, std::move(inner));
    NullOutlet outlet;
    stage.attach(outlet);
    CHECK(seen.attached == 1);
    Buffer out;
    stage.onLowWater(out); // a broadcast listener: nothing sent, still told
    CHECK(seen.lowWater == 1);
}

TEST_CASE("without ,proxy: a header is refused, anything else passes through", "[proxy_stage]")
{
    for (const std::string &first :
         { kHeader, std::string("PROXY TCP4 1"), std::string("\r\n\r\n\0\r\nQUIT\n\x21", 13) }) {
        Owner owner;
        ProxyStage stage(owner, 1, std::make_unique<Recorder>());
        Buffer in;
        Buffer out;
        CHECK(feed(stage, in, out, first) == Verdict::Finish);
        // The inner service is gone with the refusal; it never saw a byte (it echoes them).
        CHECK(out.view() == "error: PROXY protocol header not expected\n");
        CHECK(owner.refused.size() == 1);
        CHECK(stage.messages() == 0);
        stage.onLowWater(out); // nothing to tell any more
    }
    for (const std::string &first :
         { std::string("hello\n"), std::string("PROX"), std::string("PROXY is a word\n") }) {
        Owner owner;
        auto inner = std::make_unique<Recorder>();
        Recorder &seen = *inner;
        ProxyStage stage(owner, 1, std::move(inner));
        Buffer in;
        Buffer out;
        CHECK(feed(stage, in, out, first) == Verdict::Continue);
        // Decided on the first bytes: a header later is the client's message.
        CHECK(feed(stage, in, out, kHeader) == Verdict::Continue);
        CHECK(seen.got == first + kHeader);
        CHECK(owner.refused.empty());
    }
}
