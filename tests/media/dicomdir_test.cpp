// The DICOMDIR builder on a real state: studies from sealport-gen-study's
// generator ingested through the real pipeline, blobs decrypted only by the
// builder, the result judged by dciodvfy, dcentvfy, dcmdump, DCMTK's own
// DICOMDIR reader and pydicom's FileSet.

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcuid.h>

#include <chrono>
#include <fstream>

#include "media_test_support.hpp"

using namespace sealport;
using mediatest::DicomDirReader;
using mediatest::Fixture;
using mediatest::Record;

namespace {

const char* const kPythonCheck = R"PY(
import sys
import pydicom
from pydicom.fileset import FileSet
ds = pydicom.dcmread(sys.argv[1] + "/DICOMDIR")
fs = FileSet(ds)
count = 0
for instance in fs:
    f = instance.load()
    assert f.SOPInstanceUID == instance.ReferencedSOPInstanceUIDInFile, instance.path
    count += 1
out = []
for record in ds.DirectoryRecordSequence:
    if record.DirectoryRecordType == "PATIENT":
        out.append("PATIENT " + record.PatientID + " " + str(record.PatientName))
out.append("INSTANCES " + str(count))
sys.stdout.buffer.write(("\n".join(out) + "\n").encode("utf-8"))
)PY";

std::string fromFileId(const std::string& referenced) {
    std::string path = referenced;
    std::replace(path.begin(), path.end(), '\\', '/');
    return path;
}

// dciodvfy and dcentvfy exit 0 and report no error; dcmdump reads it.
void requireValid(const std::filesystem::path& dicomdir) {
    const auto iod = mediatest::runTool({"dciodvfy", dicomdir.string()});
    INFO("dciodvfy:\n" << iod.output);
    CHECK(iod.exitCode == 0);
    CHECK(mediatest::linesWith(iod.output, "Error").empty());
    const auto entities = mediatest::runTool({"dcentvfy", dicomdir.string()});
    INFO("dcentvfy:\n" << entities.output);
    CHECK(entities.exitCode == 0);
    CHECK(mediatest::linesWith(entities.output, "Error").empty());
    const auto dump = mediatest::runTool({"dcmdump", "-q", dicomdir.string()});
    INFO("dcmdump:\n" << dump.output);
    CHECK(dump.exitCode == 0);
    CHECK(dump.output.find("DirectoryRecordSequence") != std::string::npos);
}

// Every instance-level record points at a file under `root` that is the
// instance, class and transfer syntax it says; returns the file IDs in order.
std::vector<std::string> checkReferences(const std::filesystem::path& root,
                                         const DicomDirReader& dir) {
    std::vector<std::string> paths;
    for (const Record& r : dir.ofDepth(3)) {
        const std::string path = fromFileId(r.get(DCM_ReferencedFileID));
        CAPTURE(path, r.type);
        REQUIRE(media::isValidFileId(path));
        REQUIRE(std::filesystem::is_regular_file(root / path));
        DcmFileFormat file;
        REQUIRE(file.loadFile((root / path).c_str()).good());
        CHECK(r.get(DCM_ReferencedSOPInstanceUIDInFile) ==
              mediatest::str(*file.getDataset(), DCM_SOPInstanceUID));
        CHECK(r.get(DCM_ReferencedSOPClassUIDInFile) ==
              mediatest::str(*file.getDataset(), DCM_SOPClassUID));
        CHECK(r.get(DCM_ReferencedTransferSyntaxUIDInFile) ==
              mediatest::str(*file.getMetaInfo(), DCM_TransferSyntaxUID));
        CHECK(r.type == media::directoryRecordType(r.get(DCM_ReferencedSOPClassUIDInFile)));
        if (file.getDataset()->tagExistsWithValue(DCM_InstanceNumber))
            CHECK(r.get(DCM_InstanceNumber) ==
                  mediatest::str(*file.getDataset(), DCM_InstanceNumber));
        paths.push_back(path);
    }
    return paths;
}

std::vector<std::string> pathsOf(const std::vector<media::PlacedInstance>& plan) {
    std::vector<std::string> out;
    for (const auto& p : plan)
        out.push_back(p.path);
    return out;
}

std::string studyUid(const nlohmann::json& manifest) {
    return manifest["study"]["uid"].get<std::string>();
}

bool pydicomAvailable() {
    return std::filesystem::exists("/usr/bin/python3") &&
           mediatest::runTool({"/usr/bin/python3", "-c", "import pydicom.fileset"}).exitCode == 0;
}

}  // namespace

TEST_CASE(
    "the DICOMDIR of two patients' studies is valid and references every file with names intact") {
    Fixture f;
    const auto a = f.generate({"--patient-id", "PAT-A", "--charset", "ISO_IR_100", "--patient-name",
                               "Lefèvre^Amélie", "--series", "CT:3:32x32", "--series", "MR:2:32x32",
                               "--transfer-syntax", "explicit", "--seed", "1"});
    const auto b =
        f.generate({"--patient-id", "PAT-B", "--charset", "ISO_IR_192", "--patient-name",
                    "Côté^Noël", "--series", "CT:2:32x32", "--series", "SR:1", "--series", "PDF:1",
                    "--transfer-syntax", "jpeg-lossless", "--seed", "2"});
    const auto plan = f.plan({studyUid(a), studyUid(b)});
    REQUIRE(plan.size() == 9);
    const auto dicomdir = f.build(plan);
    CHECK(f.scratchEntries() == 0);

    const auto root = f.dir.path() / "fileset";
    f.layOut(root, plan, dicomdir);
    requireValid(root / "DICOMDIR");

    DicomDirReader dir(root / "DICOMDIR");
    DcmFileFormat& ff = dir.dir().getDirFileFormat();
    CHECK(mediatest::str(*ff.getDataset(), DCM_FileSetID) == "SEALPORT");
    CHECK(mediatest::str(*ff.getMetaInfo(), DCM_TransferSyntaxUID) ==
          UID_LittleEndianExplicitTransferSyntax);
    CHECK(mediatest::str(*ff.getMetaInfo(), DCM_MediaStorageSOPClassUID) ==
          UID_MediaStorageDirectoryStorage);

    // The records list the files in the planned order, each the file it names.
    CHECK(checkReferences(root, dir) == pathsOf(plan));

    const auto patients = dir.ofDepth(0);
    REQUIRE(patients.size() == 2);
    CHECK(patients[0].type == "PATIENT");
    CHECK(patients[0].get(DCM_PatientID) == "PAT-A");
    // Latin-1 bytes under ISO_IR 100, exactly as the files hold them.
    CHECK(patients[0].get(DCM_SpecificCharacterSet) == "ISO_IR 100");
    CHECK(mediatest::latin1ToUtf8(patients[0].get(DCM_PatientName)) == "Lefèvre^Amélie");
    CHECK(patients[1].get(DCM_PatientID) == "PAT-B");
    CHECK(patients[1].get(DCM_SpecificCharacterSet) == "ISO_IR 192");
    CHECK(patients[1].get(DCM_PatientName) == "Côté^Noël");

    const auto studies = dir.ofDepth(1);
    REQUIRE(studies.size() == 2);
    CHECK(studies[0].get(DCM_StudyInstanceUID) == studyUid(a));
    CHECK(studies[1].get(DCM_StudyInstanceUID) == studyUid(b));
    CHECK(studies[0].get(DCM_SpecificCharacterSet) == "ISO_IR 100");  // it holds LO/SH text
    for (const auto& s : studies) {
        CHECK_FALSE(s.get(DCM_StudyDate).empty());
        CHECK_FALSE(s.get(DCM_StudyID).empty());
    }
    const auto series = dir.ofDepth(2);
    REQUIRE(series.size() == 5);
    CHECK(series[0].get(DCM_Modality) == "CT");
    CHECK(series[1].get(DCM_Modality) == "MR");
    CHECK_FALSE(series[0].has(DCM_SpecificCharacterSet));  // no text: nothing to decode

    const auto instances = dir.ofDepth(3);
    REQUIRE(instances.size() == 9);
    std::map<std::string, int> types;
    for (const auto& r : instances)
        ++types[r.type];
    CHECK(types["IMAGE"] == 7);
    CHECK(types["SR DOCUMENT"] == 1);
    CHECK(types["ENCAP DOC"] == 1);
    for (const auto& r : instances) {
        if (r.type == "SR DOCUMENT") {
            for (const auto& key :
                 {DCM_CompletionFlag, DCM_VerificationFlag, DCM_ContentDate, DCM_ContentTime})
                CHECK_FALSE(r.get(key).empty());
            CHECK(r.has(DCM_ConceptNameCodeSequence));
        }
        if (r.type == "ENCAP DOC")
            CHECK(r.get(DCM_MIMETypeOfEncapsulatedDocument) == "application/pdf");
        if (r.type == "IMAGE" && r.get(DCM_ReferencedFileID).rfind("DICOM\\P0000002", 0) == 0)
            CHECK(r.get(DCM_ReferencedTransferSyntaxUIDInFile) ==
                  UID_JPEGProcess14SV1TransferSyntax);
    }

    if (pydicomAvailable()) {
        const auto script = f.dir.path() / "check.py";
        std::ofstream(script) << kPythonCheck;
        const auto py = mediatest::runTool({"/usr/bin/python3", script.string(), root.string()});
        INFO(py.output);
        REQUIRE(py.exitCode == 0);
        CHECK(py.output.find("PATIENT PAT-A Lefèvre^Amélie\n") != std::string::npos);
        CHECK(py.output.find("PATIENT PAT-B Côté^Noël\n") != std::string::npos);
        CHECK(py.output.find("INSTANCES 9\n") != std::string::npos);
    } else {
        WARN("pydicom not found at /usr/bin/python3: cross-check skipped");
    }
}

TEST_CASE(
    "studies group under their patient and implicit VR and deflated files are named in their own "
    "syntax") {
    Fixture f;
    const auto a1 = f.generate({"--patient-id", "PAT-A", "--series", "CT:2:16x16",
                                "--transfer-syntax", "explicit", "--seed", "11"});
    const auto c = f.generate({"--patient-id", "PAT-C", "--charset", "none", "--series",
                               "MR:2:16x16", "--transfer-syntax", "deflated", "--seed", "12"});
    const auto a2 = f.generate({"--patient-id", "PAT-A", "--series", "CR:1:16x16",
                                "--transfer-syntax", "implicit", "--seed", "13"});
    const auto plan = f.plan({studyUid(a1), studyUid(c), studyUid(a2)});
    REQUIRE(plan.size() == 5);
    CHECK(plan[2].path == "DICOM/P0000001/S0000002/S0000001/I0000001");  // a2 joins PAT-A
    CHECK(plan[3].path == "DICOM/P0000002/S0000001/S0000001/I0000001");
    const auto root = f.dir.path() / "fileset";
    f.layOut(root, plan, f.build(plan));
    requireValid(root / "DICOMDIR");

    DicomDirReader dir(root / "DICOMDIR");
    CHECK(checkReferences(root, dir) == pathsOf(plan));
    const auto patients = dir.ofDepth(0);
    REQUIRE(patients.size() == 2);
    CHECK(patients[0].get(DCM_PatientID) == "PAT-A");
    CHECK(patients[0].item->cardSub() == 2);
    CHECK(patients[1].get(DCM_PatientID) == "PAT-C");
    std::set<std::string> syntaxes;
    for (const auto& r : dir.ofDepth(3))
        syntaxes.insert(r.get(DCM_ReferencedTransferSyntaxUIDInFile));
    CHECK(syntaxes == std::set<std::string>{UID_LittleEndianExplicitTransferSyntax,
                                            UID_DeflatedExplicitVRLittleEndianTransferSyntax,
                                            UID_LittleEndianImplicitTransferSyntax});
}

TEST_CASE("required values an instance lacks are invented as dcmmkdir --invent does") {
    Fixture f;
    ingest::test::ObjectSpec spec;  // no Study ID: the builder never writes one
    spec.patientId = "";
    spec.seriesNumber.reset();
    spec.instanceNumber.reset();
    f.store(ingest::test::makePart10(spec));
    const auto plan = f.plan({*spec.studyUid});
    REQUIRE(plan.size() == 1);
    const auto root = f.dir.path() / "fileset";
    f.layOut(root, plan, f.build(plan));
    requireValid(root / "DICOMDIR");

    DicomDirReader ours(root / "DICOMDIR");
    REQUIRE(ours.records().size() == 4);

    // DCMTK's own dcmmkdir, given the same file with +I, invents the same values.
    const auto dcmtkDir = f.dir.path() / "DCMTKDIR";
    const auto mk = mediatest::runTool(
        {"dcmmkdir", "+I", "+id", root.string(), "+D", dcmtkDir.string(), plan[0].path});
    INFO(mk.output);
    REQUIRE(mk.exitCode == 0);
    DicomDirReader theirs(dcmtkDir);
    REQUIRE(theirs.records().size() == 4);
    for (const auto& [depth, key] :
         {std::pair{0, DCM_PatientID}, std::pair{1, DCM_StudyID}, std::pair{2, DCM_SeriesNumber},
          std::pair{3, DCM_InstanceNumber}}) {
        CAPTURE(depth, DcmTag(key).getTagName());
        CHECK_FALSE(ours.records()[static_cast<std::size_t>(depth)].get(key).empty());
        CHECK(ours.records()[static_cast<std::size_t>(depth)].get(key) ==
              theirs.records()[static_cast<std::size_t>(depth)].get(key));
    }
    CHECK(ours.records()[0].get(DCM_PatientID) == "DCMTKPAT000000");
    CHECK(ours.records()[1].get(DCM_StudyID) == "DCMTKSTUDY000000");
}

TEST_CASE(
    "a missing study date or time or modality gets a fixed placeholder rather than today's date") {
    Fixture f;
    ingest::test::ObjectSpec spec;
    spec.studyDate = "";
    spec.studyTime = "";
    spec.modality = "";
    f.store(ingest::test::makePart10(spec));
    const auto plan = f.plan({*spec.studyUid});
    const auto root = f.dir.path() / "fileset";
    f.layOut(root, plan, f.build(plan));
    requireValid(root / "DICOMDIR");
    DicomDirReader dir(root / "DICOMDIR");
    CHECK(dir.ofDepth(1).at(0).get(DCM_StudyDate) == "19000101");
    CHECK(dir.ofDepth(1).at(0).get(DCM_StudyTime) == "000000");
    CHECK(dir.ofDepth(2).at(0).get(DCM_Modality) == "OT");
}

TEST_CASE("the same file-set gives the same DICOMDIR bytes") {
    Fixture f;
    const auto a = f.generate({"--series", "CT:2:16x16", "--seed", "21"});
    const auto plan = f.plan({studyUid(a)});
    const auto first = f.build(plan);
    CHECK(f.build(plan) == first);
    CHECK(f.build(plan, "OTHER") != first);
}

TEST_CASE(
    "a corrupted or missing blob fails clearly without patient data and leaves no scratch files") {
    Fixture f;
    const auto a = f.generate({"--patient-id", "PAT-SECRET", "--patient-name", "Secretname^Anna",
                               "--series", "CT:3:16x16", "--seed", "31"});
    const auto plan = f.plan({studyUid(a)});
    const auto& victim = plan[1];
    const auto blobPath = f.st.blobs().pathOf(victim.instance.blobId);
    SECTION("a flipped ciphertext byte") {
        auto bytes = mediatest::readFile(blobPath);
        bytes[state::kBlobHeaderSize + 100] ^= 0x01;
        mediatest::writeFile(blobPath, bytes);
    }
    SECTION("the blob is gone") {
        std::filesystem::remove(blobPath);
    }
    SECTION("the blob is cut short") {
        auto bytes = mediatest::readFile(blobPath);
        bytes.resize(bytes.size() - 40);
        mediatest::writeFile(blobPath, bytes);
    }
    try {
        (void)f.build(plan);
        FAIL("buildDicomDir accepted a damaged blob");
    } catch (const media::FileSetError& e) {
        const std::string what = e.what();
        INFO(what);
        CHECK(what.find(victim.path) != std::string::npos);
        CHECK(what.find(victim.instance.blobId) != std::string::npos);
        CHECK(what.find("Secretname") == std::string::npos);
        CHECK(what.find("PAT-SECRET") == std::string::npos);
    }
    CHECK(f.scratchEntries() == 0);
}

TEST_CASE("a blob that holds another instance than the catalogue names is refused") {
    Fixture f;
    const auto a = f.generate({"--series", "CT:2:16x16", "--seed", "41"});
    auto plan = f.plan({studyUid(a)});
    std::swap(plan[0].instance.blobId, plan[1].instance.blobId);
    CHECK_THROWS_WITH(f.build(plan), Catch::Contains("does not hold the instance"));
    CHECK(f.scratchEntries() == 0);
}

TEST_CASE(
    "a header over the limit is refused while a large encapsulated document is skipped and not "
    "kept") {
    Fixture f;
    SECTION("12 MiB of sequence items before the pixel data") {
        auto ff = ingest::test::makeObject({});
        DcmDataset& ds = *ff->getDataset();
        for (int i = 0; i < 140'000; ++i) {
            DcmItem* item = nullptr;
            ingest::test::check(
                ds.findOrCreateSequenceItem(DCM_ReferencedInstanceSequence, item, -2), "item");
            ingest::test::check(
                item->putAndInsertString(DCM_ReferencedSOPClassUID, UID_CTImageStorage), "class");
            ingest::test::check(item->putAndInsertString(DCM_ReferencedSOPInstanceUID,
                                                         ("2.25.9" + std::to_string(i)).c_str()),
                                "instance");
        }
        f.store(ingest::test::encode(*ff, EXS_LittleEndianExplicit));
        const auto plan = f.plan({"2.25.318215337150521458339138093612436735611"});
        CHECK_THROWS_WITH(f.build(plan), Catch::Contains("header before the pixel data is over"));
        CHECK(f.scratchEntries() == 0);
    }
    SECTION("a 12 MiB PDF") {
        ingest::test::ObjectSpec spec;
        spec.sopClassUid = UID_EncapsulatedPDFStorage;
        spec.modality = "DOC";
        spec.pixels = ingest::test::Pixels::none;
        auto ff = ingest::test::makeObject(spec);
        DcmDataset& ds = *ff->getDataset();
        ingest::test::check(
            ds.putAndInsertString(DCM_MIMETypeOfEncapsulatedDocument, "application/pdf"), "mime");
        ingest::test::check(ds.putAndInsertString(DCM_DocumentTitle, "Report"), "title");
        std::vector<Uint8> pdf(12U << 20, 'x');
        ingest::test::check(ds.putAndInsertUint8Array(DCM_EncapsulatedDocument, pdf.data(),
                                                      static_cast<unsigned long>(pdf.size())),
                            "document");
        f.store(ingest::test::encode(*ff, EXS_LittleEndianExplicit));
        const auto plan = f.plan({*spec.studyUid});
        const auto root = f.dir.path() / "fileset";
        f.layOut(root, plan, f.build(plan));
        DicomDirReader dir(root / "DICOMDIR");
        REQUIRE(dir.ofDepth(3).size() == 1);
        CHECK(dir.ofDepth(3)[0].type == "ENCAP DOC");
        CHECK(dir.ofDepth(3)[0].get(DCM_MIMETypeOfEncapsulatedDocument) == "application/pdf");
        CHECK(dir.ofDepth(3)[0].get(DCM_DocumentTitle) == "Report");
    }
    SECTION("a 70 kB study description counts as missing") {
        ingest::test::ObjectSpec spec;
        spec.studyDescription = std::string(70'000, 'D');
        f.store(ingest::test::makePart10(spec));
        const auto plan = f.plan({*spec.studyUid});
        const auto root = f.dir.path() / "fileset";
        f.layOut(root, plan, f.build(plan));
        requireValid(root / "DICOMDIR");
        DicomDirReader dir(root / "DICOMDIR");
        CHECK(dir.ofDepth(1).at(0).has(DCM_StudyDescription));
        CHECK(dir.ofDepth(1).at(0).get(DCM_StudyDescription).empty());
    }
}

TEST_CASE(
    "invalid file-set IDs or file IDs and repeated instances are refused before anything is read") {
    Fixture f;
    const auto a = f.generate({"--series", "CT:2:16x16", "--seed", "51"});
    auto plan = f.plan({studyUid(a)});
    CHECK_THROWS_AS(f.build(plan, "lowercase"), std::invalid_argument);
    CHECK_THROWS_AS(f.build(plan, "SEVENTEEN_CHARS_X"), std::invalid_argument);
    CHECK_NOTHROW(f.build(plan, ""));
    auto badPath = plan;
    badPath[0].path = "DICOM/P0000001/S0000001/S0000001/I00000001";  // 9 characters
    CHECK_THROWS_AS(f.build(badPath), std::invalid_argument);
    auto samePath = plan;
    samePath[1].path = samePath[0].path;
    CHECK_THROWS_AS(f.build(samePath), std::invalid_argument);
    auto sameInstance = plan;
    sameInstance[1].instance = sameInstance[0].instance;
    CHECK_THROWS_AS(f.build(sameInstance), std::invalid_argument);
    CHECK(f.scratchEntries() == 0);
}

TEST_CASE("record types follow DCMTK's SOP class map") {
    CHECK(media::directoryRecordType(UID_CTImageStorage) == "IMAGE");
    CHECK(media::directoryRecordType(UID_BasicTextSRStorage) == "SR DOCUMENT");
    CHECK(media::directoryRecordType(UID_XRayRadiationDoseSRStorage) == "SR DOCUMENT");
    CHECK(media::directoryRecordType(UID_KeyObjectSelectionDocumentStorage) == "KEY OBJECT DOC");
    CHECK(media::directoryRecordType(UID_GrayscaleSoftcopyPresentationStateStorage) ==
          "PRESENTATION");
    CHECK(media::directoryRecordType(UID_EncapsulatedPDFStorage) == "ENCAP DOC");
    CHECK(media::directoryRecordType(UID_TwelveLeadECGWaveformStorage) == "WAVEFORM");
    CHECK(media::directoryRecordType(UID_RTDoseStorage) == "RT DOSE");
    CHECK(media::directoryRecordType(UID_RTStructureSetStorage) == "RT STRUCTURE SET");
    CHECK(media::directoryRecordType(UID_RTIonPlanStorage) == "RT PLAN");
    CHECK(media::directoryRecordType(UID_SegmentationStorage) == "IMAGE");
    CHECK(media::directoryRecordType("1.2.3.4") == "IMAGE");
}
