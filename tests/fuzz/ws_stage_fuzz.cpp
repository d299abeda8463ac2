// libFuzzer target: the WebSocket stage of a ws listener's connection (daemon/ws_stage.h) as a
// whole, wrapping reply or echo mode, with a message limit and an output limit the input picks.
// The input is a script: a valid opening handshake or raw bytes, then frames built from the
// input (any opcode, FIN or not, masked or not, any payload) or raw bytes, split into reads
// anywhere, with pauses where the connection sends what the stage wrote. Checks:
// - the stage writes one HTTP response; after a 101 only server frames follow, which a client
//   decoder accepts (unmasked, text in UTF-8, control frames within 125 bytes), and nothing
//   follows a Close;
// - what it writes in one call passes the output limit by at most one message's frame;
// - after it finished (a Close, quit, an error response) it writes nothing more;
// - the server's reason for closing (idle timeout, stop) reaches an open session as a message
//   followed by a Close, and nothing before the 101;
// - what it holds between calls (a fragmented message) is charged to the connection's account,
//   and all of it is given back when the stage goes.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <fuzzer/FuzzedDataProvider.h>
#include <memory>
#include <string>
#include <string_view>

#include "common/buffer.h"
#include "common/memory_budget.h"
#include "common/ws_decoder.h"
#include "common/ws_frame.h"
#include "daemon/log.h"
#include "daemon/services.h"
#include "daemon/ws_stage.h"
#include "tests/fuzz/invariant.h"

using namespace pisock;
using pisock::fuzz::check;
using Kind = ws::Event::Kind;

namespace {

const std::string kHandshake = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                               "Connection: Upgrade\r\nSec-WebSocket-Key: "
                               "dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

// An HTTP response of the stage, head and body (the test's page is a few bytes), at most.
constexpr std::size_t kLargestResponse = 2048;

// The connection as the stage sees it: an account in a budget, nothing shared.
struct FuzzOutlet final : Outlet {
    MemoryBudget budget{ 64 * 1024 * 1024 };
    MemoryAccount charged{ &budget };

    [[nodiscard]] std::size_t outputCost() const noexcept override { return 0; }
    [[nodiscard]] bool makeRoomFor(const Chunk &) noexcept override { return true; }
    bool share(Chunk &) noexcept override { return false; }
    void watchLowWater() noexcept override {}
    void abort(const char *) noexcept override {}
    [[nodiscard]] MemoryAccount *account() noexcept override { return &charged; }
};

// A client frame from the input: any opcode, FIN or not, masked (mostly) or not.
std::string frameFrom(FuzzedDataProvider &in, std::size_t maxPayload)
{
    static constexpr std::uint8_t kOps[] = { 0x0, 0x1, 0x2, 0x8, 0x9, 0xa, 0x3, 0xb };
    const std::uint8_t op = in.PickValueInArray(kOps);
    const bool fin = in.ConsumeIntegralInRange<int>(0, 3) != 0;
    const bool masked = in.ConsumeIntegralInRange<int>(0, 15) != 0;
    const std::string payload = in.ConsumeRandomLengthString(maxPayload);
    const ws::Mask mask{ 0x37, 0xfa, 0x21, 0x3d };
    std::string out(ws::kMaxHeader, '\0');
    out.resize(ws::writeHeader(out.data(), static_cast<ws::Opcode>(op), payload.size(), fin,
                               masked ? &mask : nullptr));
    std::string body = payload;
    if (masked)
        ws::applyMask(body.data(), body.size(), mask);
    return out + body;
}

// What the client side makes of the stage's output, checked as it arrives.
struct Client {
    std::string head; // the HTTP response head, until its blank line
    bool headDone = false;
    bool upgraded = false;
    bool closed = false; // a Close frame came
    Buffer frames;
    ws::Decoder decoder{ ws::Role::Client, 16 * 1024 * 1024 };

    void take(Buffer &out)
    {
        std::string_view bytes = out.view();
        if (!headDone) {
            head.append(bytes);
            bytes = {};
            const std::size_t end = head.find("\r\n\r\n");
            if (end == std::string::npos)
                return out.clear();
            headDone = true;
            upgraded = head.starts_with("HTTP/1.1 101 ");
            check(head.starts_with("HTTP/1.1 "), "the response is not HTTP/1.1");
            const std::string rest = head.substr(end + 4);
            head.resize(end + 4);
            if (!upgraded) // a page or an error: its body, then nothing
                return out.clear();
            check(frames.append(rest), "out of memory in the client");
        } else if (!upgraded) {
            return out.clear(); // the body of a page or an error response
        }
        check(frames.append(bytes), "out of memory in the client");
        out.clear();
        for (;;) {
            const ws::Event e = decoder.next(frames);
            if (e.kind == Kind::NeedMore)
                break;
            check(e.kind != Kind::Error, "the stage wrote a frame a client refuses");
            check(!closed, "a frame after the server's Close");
            closed = e.kind == Kind::Close;
        }
    }
};

void run(FuzzedDataProvider &in)
{
    const bool echo = in.ConsumeBool();
    static std::size_t maxMessage = 0;
    maxMessage = in.ConsumeIntegralInRange<std::size_t>(1, 8192);
    const std::size_t outLimit = in.ConsumeIntegralInRange<std::size_t>(1, 65536);
    WsConfig config;
    config.page = "<html>ws</html>";
    config.maxMessage = &maxMessage;
    WsChunkFramer framer(config);
    ReplyConfig reply;
    reply.maxMessage = maxMessage;
    std::unique_ptr<Service> inner;
    if (echo)
        inner = std::make_unique<EchoService>();
    else
        inner = std::make_unique<LineService>(reply, Framing::Raw, "192.0.2.1:5000", 1);
    FuzzOutlet outlet;
    {
        WsStage stage(std::move(inner), config, framer, !echo, "192.0.2.1:5000", 1);
        stage.attach(outlet);
        Buffer input(Buffer::kUnlimited, &outlet.charged);
        Buffer out(Buffer::kUnlimited, &outlet.charged);
        Client client;
        // How the connection ends: the client's EOF, or the server's idle timeout or stop.
        const int ending = in.ConsumeIntegralInRange<int>(0, 2);
        std::string script = in.ConsumeBool() ? kHandshake : in.ConsumeRandomLengthString(512);
        while (in.remaining_bytes() > 0 && script.size() < 256 * 1024)
            script += in.ConsumeBool() ? frameFrom(in, 2 * maxMessage)
                                       : in.ConsumeRandomLengthString(64);
        bool finished = false;
        std::size_t at = 0;
        for (std::size_t round = 0; at < script.size() || round == 0; ++round) {
            // Reads of 1 byte, then 98, 195...: every split sooner or later.
            const std::size_t n = std::min(script.size() - at, 1 + round * 97 % 4096);
            check(input.append(std::string_view(script).substr(at, n)), "out of memory");
            at += n;
            // Called until it takes nothing more, as the connection does at the low-water mark.
            for (std::size_t before = input.readable() + 1; input.readable() < before;) {
                before = input.readable();
                const Verdict v = stage.onInput(input, out, outLimit, false);
                // One message's frame past the limit, or the one HTTP response.
                check(out.readable() <= outLimit + std::max(maxMessage + 256, kLargestResponse),
                      "the output passed its limit by more than one message");
                const bool wrote = !out.empty();
                client.take(out);
                check(!(finished && wrote), "output after the stage finished");
                finished = finished || v == Verdict::Finish;
                if (finished)
                    input.clear();
            }
        }
        if (!finished && ending != 0) {
            // The reason line as a text message and a Close, once open; nothing before.
            if (ending == 1)
                stage.notice(out, "error: idle timeout (1 s)");
            else
                stage.onStop(out, "error: server stopping");
            const bool wrote = !out.empty();
            client.take(out);
            check(!wrote || (client.upgraded && client.closed),
                  "the server's reason was not a message followed by a Close");
            finished = client.closed;
        }
        if (!finished) {
            stage.onInput(input, out, outLimit, true);
            client.take(out);
        }
        if (client.closed || (client.headDone && !client.upgraded)) {
            stage.onInput(input, out, outLimit, true); // once over, nothing more
            check(out.empty(), "output after a Close or an error response");
        }
        stage.detach();
        input.clear();
        input.release();
        out.release();
    }
    check(outlet.charged.held() == 0, "memory charged to the connection was not given back");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    log::setLevel(log::Level::Error);
    FuzzedDataProvider in(data, size);
    run(in);
    return 0;
}
