#include "bridge.h"

#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "bridge_url.h"
#include "common/errors.h"
#include "common/unique_fd.h"
#include "exit_code.h"
#include "options.h"

namespace pisock {

std::string readBridgePassword(const std::string &given)
{
    std::string path = given;
    if (given.find('/') == std::string::npos) {
        const char *dir = std::getenv("CREDENTIALS_DIRECTORY");
        if (!dir || !*dir)
            throw OptionError(kExitConfig,
                              fmt::format("bridge-password-file: '{}' names a systemd credential "
                                          "but none was passed (LoadCredential={}:FILE)",
                                          given, given));
        path = std::string(dir) + "/" + given;
    }
    auto fail = [&](const std::string &why) {
        return OptionError(kExitConfig, fmt::format("bridge-password-file {}: {}", path, why));
    };
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    if (!fd)
        throw fail(fmt::format("cannot open: {}", errnoText(errno)));
    struct stat st {
    };
    if (::fstat(fd.get(), &st) != 0)
        throw fail(fmt::format("cannot read: {}", errnoText(errno)));
    if (!S_ISREG(st.st_mode))
        throw fail("is not a regular file");
    // A password others can read is not one: refuse, as ssh does with keys.
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
        throw fail(fmt::format("readable or writable by others (mode {:o}): chmod 600 it, "
                               "owned by root",
                               st.st_mode & 07777));
    std::string text;
    char block[1024];
    for (;;) {
        const ssize_t n = ::read(fd.get(), block, sizeof(block));
        if (n == 0)
            break;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            throw fail(fmt::format("cannot read: {}", errnoText(errno)));
        text.append(block, static_cast<std::size_t>(n));
        if (text.size() > 4096)
            throw fail("longer than 4096 bytes: not a password file");
    }
    if (const auto end = text.find('\n'); end != std::string::npos)
        text.resize(end);
    if (!text.empty() && text.back() == '\r')
        text.pop_back();
    if (text.empty())
        throw fail("its first line is empty");
    return text;
}

std::string nodeNameOf(const Settings &settings)
{
    if (!settings.nodeName.empty())
        return settings.nodeName;
    char host[256] = {};
    if (::gethostname(host, sizeof(host) - 1) != 0)
        return defaultNodeName({});
    return defaultNodeName(host);
}

} // namespace pisock
