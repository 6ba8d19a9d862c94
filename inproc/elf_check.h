// Reads a handler library's ELF header before dlopen, so a wrong build is reported clearly
// (500.32: another class, byte order or machine; 500.33: not a shared library) instead of as
// whatever dlerror() happens to say.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace sitehost::inproc {

struct ElfProblem {
  int substatus = 33;  // 32: built for another bitness/architecture; 33: not a shared library
  std::string message;
};

// What this process can load, e.g. "64-bit little-endian x86-64 (ELFCLASS64, EM_X86_64)".
std::string host_elf_description();

// A short name for an ELF e_machine value ("x86-64", "aarch64", "machine 243").
std::string elf_machine_name(unsigned machine);

// Checks that `file` is an ELF shared object this process can load: magic, class, byte order,
// machine, type ET_DYN and not a position-independent executable. Blocking file I/O: call it off
// the loop. nullopt = fine.
std::optional<ElfProblem> check_elf(const std::filesystem::path& file);

// Whether `file` holds every byte its ELF headers describe (the program and section header tables
// and each segment's file contents). A deploy that is still being written (a truncated copy, or a
// file cut to 0 bytes by an in-place `cp` before the new bytes arrive) reads as kIncomplete and
// must not be loaded: dlopen would map pages past the end of the file. A file that is not ELF at
// all (or whose headers make no sense) is kNotElf / kComplete: check_elf and the loader report it.
// Blocking file I/O: call it off the loop.
enum class ElfCompleteness { kComplete, kIncomplete, kNotElf };
ElfCompleteness elf_completeness(const std::filesystem::path& file);

}  // namespace sitehost::inproc
