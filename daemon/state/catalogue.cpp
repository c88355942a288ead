#include "sealport/state/catalogue.hpp"

#include <algorithm>

namespace sealport::state {
namespace {

core::Sha256Digest digest(const std::vector<std::uint8_t>& b) {
    core::Sha256Digest d{};
    if (b.size() == d.size()) std::copy(b.begin(), b.end(), d.begin());
    return d;
}

std::optional<std::int64_t> optInt(const Statement& s, int col) {
    if (s.isNull(col)) return std::nullopt;
    return s.integer(col);
}

void bindOpt(Statement& s, int idx, const std::optional<std::int64_t>& v) {
    if (v) s.bind(idx, *v);
    else s.bindNull(idx);
}

constexpr std::string_view kStudyColumns =
    "s.study_uid, s.patient_id, s.patient_name, s.birth_date, s.sex, s.study_date, s.study_time, "
    "s.description, s.accession, s.referring, s.received_at, "
    "(SELECT count(*) FROM series se WHERE se.study_uid = s.study_uid), "
    "(SELECT count(*) FROM instance i JOIN series se ON i.series_uid = se.series_uid WHERE se.study_uid = s.study_uid), "
    "(SELECT coalesce(sum(i.size), 0) FROM instance i JOIN series se ON i.series_uid = se.series_uid WHERE se.study_uid = s.study_uid) ";

StudySummary readStudy(Database& db, const Statement& s) {
    StudySummary r;
    r.studyUid = s.text(0);
    r.patientId = s.text(1);
    r.patientName = s.text(2);
    r.birthDate = s.text(3);
    r.sex = s.text(4);
    r.studyDate = s.text(5);
    r.studyTime = s.text(6);
    r.description = s.text(7);
    r.accessionNumber = s.text(8);
    r.referringPhysician = s.text(9);
    r.receivedAt = s.text(10);
    r.series = s.integer(11);
    r.instances = s.integer(12);
    r.bytes = s.integer(13);
    Statement m = db.prepare("SELECT DISTINCT modality FROM series WHERE study_uid = ? ORDER BY modality");
    m.bind(1, r.studyUid);
    while (m.step()) r.modalities.push_back(m.text(0));
    return r;
}

InstanceLocation readInstance(const Statement& s) {
    InstanceLocation l;
    l.sopInstanceUid = s.text(0);
    l.sopClassUid = s.text(1);
    l.seriesUid = s.text(2);
    l.transferSyntaxUid = s.text(3);
    l.blobId = s.text(4);
    l.instanceNumber = optInt(s, 5);
    l.size = static_cast<std::uint64_t>(s.integer(6));
    l.sha256 = digest(s.blob(7));
    if (!s.isNull(8)) l.crc32 = static_cast<std::uint32_t>(s.integer(8));
    return l;
}

constexpr std::string_view kInstanceColumns =
    "i.sop_instance_uid, i.sop_class_uid, i.series_uid, i.transfer_syntax, i.blob_id, i.instance_number, "
    "i.size, i.sha256, i.crc32 ";

}  // namespace

std::optional<core::Sha256Digest> Catalogue::datasetDigestOf(const std::string& sopInstanceUid) {
    Statement existing = db_.prepare("SELECT dataset_sha256 FROM instance WHERE sop_instance_uid = ?");
    existing.bind(1, sopInstanceUid);
    if (!existing.step()) return std::nullopt;
    return digest(existing.blob(0));
}

AddOutcome Catalogue::add(const CatalogueEntry& e) {
    Database::Transaction tx(db_);
    if (const auto existing = datasetDigestOf(e.sopInstanceUid))
        return *existing == e.datasetSha256 ? AddOutcome::duplicate : AddOutcome::conflict;
    {
        // INSERT OR IGNORE: the first instance of a study or series sets its attributes.
        Statement st = db_.prepare(
            "INSERT OR IGNORE INTO study (study_uid, patient_id, patient_name, birth_date, sex, study_date, "
            "study_time, description, accession, referring, received_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)");
        st.bind(1, e.studyUid).bind(2, e.patientId).bind(3, e.patientName).bind(4, e.birthDate).bind(5, e.sex);
        st.bind(6, e.studyDate).bind(7, e.studyTime).bind(8, e.studyDescription).bind(9, e.accessionNumber);
        st.bind(10, e.referringPhysician).bind(11, e.receivedAt);
        st.step();
    }
    {
        Statement se = db_.prepare(
            "INSERT OR IGNORE INTO series (series_uid, study_uid, number, modality, description) VALUES (?,?,?,?,?)");
        se.bind(1, e.seriesUid).bind(2, e.studyUid);
        bindOpt(se, 3, e.seriesNumber);
        se.bind(4, e.modality).bind(5, e.seriesDescription);
        se.step();
        // A series UID reused under another study is not ours to merge.
        Statement owner = db_.prepare("SELECT study_uid FROM series WHERE series_uid = ?");
        owner.bind(1, e.seriesUid);
        if (!owner.step() || owner.text(0) != e.studyUid) return AddOutcome::conflict;
    }
    Statement in = db_.prepare(
        "INSERT INTO instance (sop_instance_uid, series_uid, sop_class_uid, instance_number, transfer_syntax, "
        "size, sha256, dataset_sha256, blob_id, source, received_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)");
    in.bind(1, e.sopInstanceUid).bind(2, e.seriesUid).bind(3, e.sopClassUid);
    bindOpt(in, 4, e.instanceNumber);
    in.bind(5, e.transferSyntaxUid).bind(6, static_cast<std::int64_t>(e.size)).bind(7, e.sha256);
    in.bind(8, e.datasetSha256).bind(9, e.blobId).bind(10, e.source).bind(11, e.receivedAt);
    in.step();
    tx.commit();
    return AddOutcome::added;
}

std::vector<StudySummary> Catalogue::studies(const std::optional<std::string>& patientId) {
    std::string sql = "SELECT " + std::string(kStudyColumns) + "FROM study s ";
    if (patientId) sql += "WHERE s.patient_id = ? ";
    sql += "ORDER BY s.study_date DESC, s.study_time DESC, s.study_uid";
    Database::ReadTransaction snapshot(db_);
    Statement s = db_.prepare(sql);
    if (patientId) s.bind(1, *patientId);
    std::vector<StudySummary> out;
    while (s.step()) out.push_back(readStudy(db_, s));
    return out;
}

std::optional<StudyDetail> Catalogue::study(const std::string& studyUid) {
    Database::ReadTransaction snapshot(db_);
    Statement s = db_.prepare("SELECT " + std::string(kStudyColumns) + "FROM study s WHERE s.study_uid = ?");
    s.bind(1, studyUid);
    if (!s.step()) return std::nullopt;
    StudyDetail d{readStudy(db_, s), {}};
    Statement se = db_.prepare(
        "SELECT se.series_uid, se.number, se.modality, se.description, count(i.sop_instance_uid), "
        "coalesce(sum(i.size), 0) FROM series se LEFT JOIN instance i ON i.series_uid = se.series_uid "
        "WHERE se.study_uid = ? GROUP BY se.series_uid ORDER BY se.number, se.series_uid");
    se.bind(1, studyUid);
    while (se.step())
        d.series.push_back(SeriesSummary{se.text(0), optInt(se, 1), se.text(2), se.text(3), se.integer(4), se.integer(5)});
    return d;
}

std::vector<InstanceLocation> Catalogue::instancesOf(const std::string& studyUid) {
    Statement s = db_.prepare("SELECT " + std::string(kInstanceColumns) +
                              "FROM instance i JOIN series se ON i.series_uid = se.series_uid "
                              "WHERE se.study_uid = ? ORDER BY se.number, se.series_uid, i.instance_number, "
                              "i.sop_instance_uid");
    s.bind(1, studyUid);
    std::vector<InstanceLocation> out;
    while (s.step()) out.push_back(readInstance(s));
    return out;
}

std::optional<InstanceLocation> Catalogue::instance(const std::string& sopInstanceUid) {
    Statement s = db_.prepare("SELECT " + std::string(kInstanceColumns) + "FROM instance i WHERE i.sop_instance_uid = ?");
    s.bind(1, sopInstanceUid);
    if (!s.step()) return std::nullopt;
    return readInstance(s);
}

std::int64_t Catalogue::studyCount() {
    Statement s = db_.prepare("SELECT count(*) FROM study");
    s.step();
    return s.integer(0);
}

void Catalogue::setCrc32(const std::string& sopInstanceUid, std::uint32_t crc) {
    Statement s = db_.prepare("UPDATE instance SET crc32 = ? WHERE sop_instance_uid = ?");
    s.bind(1, static_cast<std::int64_t>(crc)).bind(2, sopInstanceUid);
    s.step();
}

}  // namespace sealport::state
