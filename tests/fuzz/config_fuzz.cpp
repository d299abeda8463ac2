// libFuzzer target: the configuration file (daemon/config_file.h, applyConfigText) fed
// arbitrary bytes. Checks:
// - the only failure is OptionError(78), one line naming the file and a line number;
// - an accepted text holds no NUL byte, a reply prefix without a newline and no listen
//   address twice (however it is spelt);
// - the entries read back the same when each is written again as key = "value"  # comment,
//   so quoting and comments mean one thing.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "common/address.h"
#include "daemon/config_file.h"
#include "daemon/options.h"
#include "tests/fuzz/invariant.h"

using namespace pisock;
using pisock::fuzz::check;
using pisock::fuzz::fail;

namespace {

// An entry written back in the quoted form, and a comment after it.
std::string rewrite(const std::vector<ConfigEntry> &entries)
{
    std::string text;
    for (const auto &e : entries) {
        text += e.key + " = \"";
        for (char c : e.value) {
            if (c == '"' || c == '\\')
                text.push_back('\\');
            text.push_back(c);
        }
        text += "\"  # again\n";
    }
    return text;
}

void checkError(const OptionError &e)
{
    const std::string what = e.what();
    check(e.exitCode() == 78, "not exit status 78");
    check(what.starts_with("f.conf:"), "error without the file name");
    check(what.find('\n') == std::string::npos, "error of more than one line");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    const std::string_view text(reinterpret_cast<const char *>(data), size);
    std::vector<ConfigEntry> entries;
    try {
        entries = parseConfigText(text, "f.conf");
    } catch (const OptionError &e) {
        checkError(e);
        return 0;
    }
    check(text.find('\0') == std::string_view::npos, "NUL byte accepted");
    // The same entries when written again in the quoted form.
    const auto again = parseConfigText(rewrite(entries), "f.conf");
    check(again.size() == entries.size(), "entries lost when written again");
    for (std::size_t i = 0; i < again.size(); ++i) {
        check(again[i].key == entries[i].key, "key changed when written again");
        check(again[i].value == entries[i].value, "value changed when written again");
    }

    Settings s;
    try {
        applyConfigText(s, text, "f.conf");
    } catch (const OptionError &e) {
        checkError(e);
        return 0;
    }
    check(s.replyPrefix.find('\n') == std::string::npos, "newline in the reply prefix");
    for (std::size_t i = 0; i < s.listen.size(); ++i) {
        const Endpoint &ep = s.listen[i].endpoint;
        for (std::size_t j = 0; j < i; ++j)
            check((ep.port == 0 && ep.kind == Endpoint::Kind::Inet) ||
                          socketKey(ep) != socketKey(s.listen[j].endpoint),
                  "one socket listed twice");
    }
    return 0;
}
