// libFuzzer target: LineCodec fed arbitrary bytes in arbitrary chunks, in line and raw
// framing, checked against line_model.h: the same messages with the same line endings in the
// same order, whatever the chunking; no message over the limit; no more than one message's
// worth held back.

#include <cstddef>
#include <cstdint>
#include <fuzzer/FuzzedDataProvider.h>
#include <string>
#include <vector>

#include "common/buffer.h"
#include "common/line_codec.h"
#include "tests/fuzz/invariant.h"
#include "tests/fuzz/line_model.h"

using namespace pisock;
using pisock::fuzz::check;
using pisock::fuzz::Event;
using pisock::fuzz::fail;

namespace {

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    FuzzedDataProvider input(data, size);
    const bool raw = input.ConsumeBool();
    const auto maxMessage = input.ConsumeIntegralInRange<std::size_t>(1, 64);
    LineCodec codec(raw ? Framing::Raw : Framing::Line, maxMessage);
    Buffer in;
    std::string fed;
    std::vector<Event> got;
    std::vector<Event> wantRaw;

    while (input.remaining_bytes() > 0) {
        const auto length = input.ConsumeIntegralInRange<std::size_t>(1, 200);
        const std::string chunk = input.ConsumeBytesAsString(length);
        if (chunk.empty())
            break;
        check(in.append(chunk), "a chunk within the cap is appended");
        fed += chunk;
        if (raw)
            wantRaw.push_back(fuzz::modelRaw(chunk, maxMessage));
        std::string_view message;
        for (;;) {
            const auto result = codec.next(in, message);
            if (result == LineCodec::Result::NeedMore)
                break;
            if (result == LineCodec::Result::TooLong) {
                got.push_back({ true, {}, {} });
                continue;
            }
            check(message.size() <= maxMessage, "no message over --max-message");
            got.push_back({ false, std::string(message), std::string(codec.ending()) });
        }
        // Held back: at most one partial line within the limit (its '\r' may await a '\n').
        check(in.readable() <= (raw ? 0 : maxMessage + 1), "what waits is at most one line");
    }
    if (auto last = codec.finish(in)) {
        check(last->size() <= maxMessage, "no last message over --max-message");
        got.push_back({ false, std::string(*last), std::string(codec.ending()) });
    }
    check(in.empty(), "everything is taken at the end");
    check(got == (raw ? wantRaw : fuzz::modelLines(fed, maxMessage, true, false)),
          "the messages of the model, in order");
    return 0;
}
