// The file-set planner: which file ID each instance gets.

#include "sealport/media/fileset.hpp"

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

namespace sealport::media {
namespace {

constexpr std::size_t kMaxFileIdComponents = 8;
constexpr std::size_t kMaxFileIdComponentLength = 8;
constexpr std::size_t kMaxCounter = 9'999'999;  // 7 digits after the letter

bool fileIdCharacter(char c) noexcept {
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// "P" + 7 digits.
std::string component(char letter, std::size_t n) {
    if (n == 0 || n > kMaxCounter)
        throw std::length_error(
            "planFileSet: more than 9999999 entries on one level of the file-set");
    std::string digits = std::to_string(n);
    return std::string(1, letter) + std::string(7 - digits.size(), '0') + digits;
}

// Numbered first, ascending; unnumbered last.
bool numberLess(const std::optional<std::int64_t>& a, const std::optional<std::int64_t>& b) {
    if (a && b)
        return *a < *b;
    return a.has_value() && !b.has_value();
}

struct PlannedSeries {
    std::string uid;
    std::optional<std::int64_t> number;
    std::vector<state::InstanceLocation> instances;
};

struct PlannedStudy {
    std::vector<PlannedSeries> series;
};

}  // namespace

bool isValidFileId(std::string_view path) noexcept {
    if (path.empty())
        return false;
    std::size_t components = 0;
    std::size_t start = 0;
    while (true) {
        const std::size_t end = std::min(path.find('/', start), path.size());
        const std::string_view part = path.substr(start, end - start);
        if (part.empty() || part.size() > kMaxFileIdComponentLength)
            return false;
        if (!std::all_of(part.begin(), part.end(), fileIdCharacter))
            return false;
        if (++components > kMaxFileIdComponents)
            return false;
        if (end == path.size())
            return true;
        start = end + 1;
    }
}

std::vector<PlacedInstance> planFileSet(state::Catalogue& catalogue,
                                        std::span<const std::string> studyUids) {
    // Patients in order of first appearance; each holds its studies in request order.
    std::vector<std::vector<PlannedStudy>> patients;
    std::map<std::string, std::size_t> patientById;
    std::set<std::string> planned;

    for (std::size_t i = 0; i < studyUids.size(); ++i) {
        const std::string& uid = studyUids[i];
        if (!planned.insert(uid).second)
            continue;
        const auto detail = catalogue.study(uid);
        if (!detail)
            throw std::invalid_argument("planFileSet: study " + std::to_string(i + 1) + " of " +
                                        std::to_string(studyUids.size()) +
                                        " is not in the catalogue");

        std::map<std::string, std::optional<std::int64_t>> seriesNumbers;
        for (const auto& s : detail->series)
            seriesNumbers[s.seriesUid] = s.number;

        PlannedStudy study;
        std::map<std::string, std::size_t> seriesIndex;
        for (auto& instance : catalogue.instancesOf(uid)) {
            auto [it, added] = seriesIndex.try_emplace(instance.seriesUid, study.series.size());
            if (added) {
                // A series catalogued after study() ran has no number here: it goes last.
                const auto number = seriesNumbers.find(instance.seriesUid);
                study.series.push_back(
                    PlannedSeries{instance.seriesUid,
                                  number == seriesNumbers.end() ? std::nullopt : number->second,
                                  {}});
            }
            study.series[it->second].instances.push_back(std::move(instance));
        }
        std::sort(study.series.begin(), study.series.end(),
                  [](const PlannedSeries& a, const PlannedSeries& b) {
                      if (numberLess(a.number, b.number))
                          return true;
                      if (numberLess(b.number, a.number))
                          return false;
                      return a.uid < b.uid;
                  });
        for (auto& s : study.series)
            std::sort(s.instances.begin(), s.instances.end(),
                      [](const state::InstanceLocation& a, const state::InstanceLocation& b) {
                          if (numberLess(a.instanceNumber, b.instanceNumber))
                              return true;
                          if (numberLess(b.instanceNumber, a.instanceNumber))
                              return false;
                          return a.sopInstanceUid < b.sopInstanceUid;
                      });

        const std::string& patientId = detail->study.patientId;
        std::size_t patient = patients.size();
        if (!patientId.empty()) {
            const auto [it, added] = patientById.try_emplace(patientId, patients.size());
            patient = it->second;
            if (!added) {
                patients[patient].push_back(std::move(study));
                continue;
            }
        }
        patients.emplace_back().push_back(std::move(study));
    }

    std::vector<PlacedInstance> out;
    for (std::size_t p = 0; p < patients.size(); ++p) {
        const std::string pDir = "DICOM/" + component('P', p + 1);
        for (std::size_t st = 0; st < patients[p].size(); ++st) {
            const std::string stDir = pDir + "/" + component('S', st + 1);
            auto& series = patients[p][st].series;
            for (std::size_t se = 0; se < series.size(); ++se) {
                const std::string seDir = stDir + "/" + component('S', se + 1);
                auto& instances = series[se].instances;
                for (std::size_t in = 0; in < instances.size(); ++in)
                    out.push_back(PlacedInstance{seDir + "/" + component('I', in + 1),
                                                 std::move(instances[in])});
            }
        }
    }
    return out;
}

}  // namespace sealport::media
