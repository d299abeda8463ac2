#include "errors.h"

#include <cstring>

namespace pisock {

std::string errnoText(int err)
{
    if (const char *text = ::strerrordesc_np(err))
        return text;
    return "error " + std::to_string(err);
}

} // namespace pisock
