#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace sealport::core::log {

enum class Priority { error = 3, warning = 4, notice = 5, info = 6, debug = 7 };

// Plain diagnostics to stderr; under systemd (JOURNAL_STREAM set) each line
// carries its sd-daemon priority prefix. Never pass secrets or patient data.
void write(Priority p, std::string_view message);
inline void error(std::string_view m) { write(Priority::error, m); }
inline void warning(std::string_view m) { write(Priority::warning, m); }
inline void notice(std::string_view m) { write(Priority::notice, m); }
inline void info(std::string_view m) { write(Priority::info, m); }

// A structured journal record (MESSAGE plus FIELD=value pairs), sent only when
// a journal is listening. Returns whether it was delivered.
using Field = std::pair<std::string_view, std::string>;
bool journal(Priority p, std::string_view messageId, std::string_view message,
             std::initializer_list<Field> fields);

}  // namespace sealport::core::log
