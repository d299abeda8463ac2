// Small things the e2e tests share: temporary directories, random bytes, counting in text,
// reporting a skipped case.

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include "tests/e2e/harness.h"
#include "tests/e2e/harness_internal.h"

namespace pisock::test {

TempDir::TempDir()
{
    std::string tmpl = (std::filesystem::temp_directory_path() / "pisock-test-XXXXXX").string();
    if (!::mkdtemp(tmpl.data()))
        detail::die("mkdtemp");
    path_ = tmpl;
}

TempDir::~TempDir()
{
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

std::string TempDir::write(const std::string &name, std::string_view contents) const
{
    const std::string p = path_ + "/" + name;
    std::ofstream out(p, std::ios::binary);
    out << contents;
    return p;
}

std::string randomBytes(std::size_t n, unsigned seed)
{
    std::mt19937 gen(seed);
    std::string s(n, '\0');
    for (auto &c : s)
        c = static_cast<char>(gen() & 0xff);
    return s;
}

double msSince(Clock::time_point start)
{
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

std::chrono::milliseconds envSeconds(const char *name, int fallback)
{
    const char *v = std::getenv(name);
    return std::chrono::seconds(v ? std::atoi(v) : fallback);
}

std::size_t countOf(std::string_view text, std::string_view needle)
{
    std::size_t n = 0;
    for (auto pos = text.find(needle); pos != std::string_view::npos;
         pos = text.find(needle, pos + 1))
        ++n;
    return n;
}

std::size_t lineCount(std::string_view text)
{
    return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

void skipCase(const std::string &why)
{
    std::string line = why;
    std::replace(line.begin(), line.end(), '\n', ' ');
    std::printf("SKIPPED-CASES: 1: %s\n", line.c_str());
    std::fflush(stdout);
}

} // namespace pisock::test
