#pragma once

#include <nlohmann/json.hpp>
#include <ostream>
#include <stdexcept>

#include "sealport/synthstudy/spec.hpp"

namespace sealport::synthstudy {

// Writing the output failed (directory, file, or an encoder): exit 1.
class OutputError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// Refuses, with UsageError, what cannot be generated (e.g. 16-bit CT as JPEG
// baseline) before anything is written.
void checkFeasible(const StudySpec& spec);

// Writes the study under spec.out and returns the manifest. Notes about
// substitutions (e.g. SR written in Explicit VR under a JPEG request) go to
// `notes`. Throws UsageError or OutputError.
nlohmann::json generateStudy(const StudySpec& spec, std::ostream& notes);

}  // namespace sealport::synthstudy
