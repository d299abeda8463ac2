// pisock: placeholder until the client lands; it links common/ to keep the layering honest.

#include <cstdio>

#include "common/errors.h"

int main()
{
    std::fputs("pisock: the client is not built yet; use nc HOST 8888 meanwhile\n", stderr);
    return pisock::kExitUnavailable;
}
