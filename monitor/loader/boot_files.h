// The kernel and initrd files a boot names, judged before anything is loaded: the launcher calls
// check_kernel_file / check_initrd_file on its flags before it starts any node, so a wrong path
// is one line at the command line rather than a node failing after start-up; the loader sizes
// the same files with boot_file_size, so both say the same thing about one file.
#pragma once

#include <cstdint>
#include <string>

#include "monitor/loader/boot_types.h"

namespace disco::boot {

// The size of `path` if it is a readable, non-empty regular file of at most `cap` bytes, else one
// line that starts with `what` and the path: "--kernel /dev/null is not a regular file", "... is
// missing (no such file)", "... is a directory", "... is empty", "... is N bytes: does not fit (at
// most CAP)", "... cannot be read: <errno text>". Opening never blocks (a FIFO is refused, not
// waited on).
Outcome<uint64_t> boot_file_size(const std::string& what, const std::string& path, uint64_t cap);

// "" when `path` can be the loader's kernel: a boot_file_size-good file of at most
// kMaxKernelFileBytes that parses as an ELF32 little-endian MIPS executable, its segments inside
// the file. Else one line naming --kernel and the path, e.g. "--kernel /bin/true is not an ELF32
// little-endian MIPS executable: 64-bit ELF: the Malta kernel must be ELF32".
std::string check_kernel_file(const std::string& path);

// "" when `path` can be an initrd for some guest RAM size (whether it fits a given one is the
// loader's question), else one line naming --initrd and the path.
std::string check_initrd_file(const std::string& path);

}  // namespace disco::boot
