// The DICOMDIR builder: directory records made from each instance's own
// header, read from its encrypted blob, never from a plaintext file.
//
// DCMTK's DicomDirInterface (dcmmkdir) is not used: it loads the referenced
// files from disk. The records are built the way it builds them for the
// STD-GEN profiles (dcddirif.cc, DCMTK 3.6.7), with the same SOP class to
// record type map, the same keys and the same invented values, but with
// nullptr as referenced file and the four Referenced ... in File attributes
// set here.

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wsign-conversion"
#pragma GCC diagnostic ignored "-Wold-style-cast"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wpedantic"
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcdicdir.h>
#include <dcmtk/dcmdata/dcdirrec.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcsequen.h>
#include <dcmtk/dcmdata/dcuid.h>
#pragma GCC diagnostic pop

#include "instance_header.hpp"
#include "sealport/core/files.hpp"
#include "sealport/core/handles.hpp"
#include "sealport/media/fileset.hpp"

namespace sealport::media {
namespace {

// ---------------------------------------------------------------------------
// SOP class -> directory record type, as dcddirif.cc's sopClassToRecordType.
// Root-level types (hanging protocol, palette, implant templates) have no
// patient or study; ingest refuses them, so they never reach a file-set.

struct RecordTypeOf {
    const char* sopClass;
    E_DirRecType type;
};

constexpr RecordTypeOf kRecordTypes[] = {
    {UID_BasicTextSRStorage, ERT_SRDocument},
    {UID_EnhancedSRStorage, ERT_SRDocument},
    {UID_ComprehensiveSRStorage, ERT_SRDocument},
    {UID_Comprehensive3DSRStorage, ERT_SRDocument},
    {UID_ExtensibleSRStorage, ERT_SRDocument},
    {UID_ProcedureLogStorage, ERT_SRDocument},
    {UID_MammographyCADSRStorage, ERT_SRDocument},
    {UID_ChestCADSRStorage, ERT_SRDocument},
    {UID_ColonCADSRStorage, ERT_SRDocument},
    {UID_XRayRadiationDoseSRStorage, ERT_SRDocument},
    {UID_RadiopharmaceuticalRadiationDoseSRStorage, ERT_SRDocument},
    {UID_SpectaclePrescriptionReportStorage, ERT_SRDocument},
    {UID_MacularGridThicknessAndVolumeReportStorage, ERT_SRDocument},
    {UID_ImplantationPlanSRDocumentStorage, ERT_SRDocument},
    {UID_AcquisitionContextSRStorage, ERT_SRDocument},
    {UID_SimplifiedAdultEchoSRStorage, ERT_SRDocument},
    {UID_PatientRadiationDoseSRStorage, ERT_SRDocument},
    {UID_PerformedImagingAgentAdministrationSRStorage, ERT_SRDocument},
    {UID_PlannedImagingAgentAdministrationSRStorage, ERT_SRDocument},
    {UID_GrayscaleSoftcopyPresentationStateStorage, ERT_Presentation},
    {UID_ColorSoftcopyPresentationStateStorage, ERT_Presentation},
    {UID_PseudoColorSoftcopyPresentationStateStorage, ERT_Presentation},
    {UID_BlendingSoftcopyPresentationStateStorage, ERT_Presentation},
    {UID_XAXRFGrayscaleSoftcopyPresentationStateStorage, ERT_Presentation},
    {UID_GrayscalePlanarMPRVolumetricPresentationStateStorage, ERT_Presentation},
    {UID_CompositingPlanarMPRVolumetricPresentationStateStorage, ERT_Presentation},
    {UID_AdvancedBlendingPresentationStateStorage, ERT_Presentation},
    {UID_VolumeRenderingVolumetricPresentationStateStorage, ERT_Presentation},
    {UID_SegmentedVolumeRenderingVolumetricPresentationStateStorage, ERT_Presentation},
    {UID_MultipleVolumeRenderingVolumetricPresentationStateStorage, ERT_Presentation},
    {UID_BasicStructuredDisplayStorage, ERT_Presentation},
    {UID_TwelveLeadECGWaveformStorage, ERT_Waveform},
    {UID_GeneralECGWaveformStorage, ERT_Waveform},
    {UID_AmbulatoryECGWaveformStorage, ERT_Waveform},
    {UID_HemodynamicWaveformStorage, ERT_Waveform},
    {UID_CardiacElectrophysiologyWaveformStorage, ERT_Waveform},
    {UID_BasicVoiceAudioWaveformStorage, ERT_Waveform},
    {UID_GeneralAudioWaveformStorage, ERT_Waveform},
    {UID_ArterialPulseWaveformStorage, ERT_Waveform},
    {UID_RespiratoryWaveformStorage, ERT_Waveform},
    {UID_RTDoseStorage, ERT_RTDose},
    {UID_RTStructureSetStorage, ERT_RTStructureSet},
    {UID_RTPlanStorage, ERT_RTPlan},
    {UID_RTIonPlanStorage, ERT_RTPlan},
    {UID_RTBeamsTreatmentRecordStorage, ERT_RTTreatRecord},
    {UID_RTBrachyTreatmentRecordStorage, ERT_RTTreatRecord},
    {UID_RTTreatmentSummaryRecordStorage, ERT_RTTreatRecord},
    {UID_RTIonBeamsTreatmentRecordStorage, ERT_RTTreatRecord},
    {UID_KeyObjectSelectionDocumentStorage, ERT_KeyObjectDoc},
    {UID_SpatialRegistrationStorage, ERT_Registration},
    {UID_DeformableSpatialRegistrationStorage, ERT_Registration},
    {UID_SpatialFiducialsStorage, ERT_Fiducial},
    {UID_RawDataStorage, ERT_RawData},
    {UID_MRSpectroscopyStorage, ERT_Spectroscopy},
    {UID_EncapsulatedPDFStorage, ERT_EncapDoc},
    {UID_EncapsulatedCDAStorage, ERT_EncapDoc},
    {UID_EncapsulatedSTLStorage, ERT_EncapDoc},
    {UID_RealWorldValueMappingStorage, ERT_ValueMap},
    {UID_StereometricRelationshipStorage, ERT_Stereometric},
    {UID_SurfaceSegmentationStorage, ERT_Surface},
    {UID_LensometryMeasurementsStorage, ERT_Measurement},
    {UID_AutorefractionMeasurementsStorage, ERT_Measurement},
    {UID_KeratometryMeasurementsStorage, ERT_Measurement},
    {UID_SubjectiveRefractionMeasurementsStorage, ERT_Measurement},
    {UID_VisualAcuityMeasurementsStorage, ERT_Measurement},
    {UID_OphthalmicAxialMeasurementsStorage, ERT_Measurement},
    {UID_IntraocularLensCalculationsStorage, ERT_Measurement},
    {UID_OphthalmicVisualFieldStaticPerimetryMeasurementsStorage, ERT_Measurement},
    {UID_RTBeamsDeliveryInstructionStorage, ERT_Plan},
    {UID_RTBrachyApplicationSetupDeliveryInstructionStorage, ERT_Plan},
    {UID_SurfaceScanMeshStorage, ERT_SurfaceScan},
    {UID_SurfaceScanPointCloudStorage, ERT_SurfaceScan},
    {UID_TractographyResultsStorage, ERT_Tract},
    {UID_ContentAssessmentResultsStorage, ERT_Assessment},
    {UID_RTPhysicianIntentStorage, ERT_Radiotherapy},
    {UID_RTSegmentAnnotationStorage, ERT_Radiotherapy},
};

E_DirRecType recordTypeOf(std::string_view sopClass) noexcept {
    for (const auto& r : kRecordTypes)
        if (sopClass == r.sopClass)
            return r.type;
    return ERT_Image;
}

// PS3.3 F.5 names (DCMTK keeps its own table private).
std::string_view recordTypeName(E_DirRecType type) noexcept {
    switch (type) {
        case ERT_SRDocument:
            return "SR DOCUMENT";
        case ERT_Presentation:
            return "PRESENTATION";
        case ERT_Waveform:
            return "WAVEFORM";
        case ERT_RTDose:
            return "RT DOSE";
        case ERT_RTStructureSet:
            return "RT STRUCTURE SET";
        case ERT_RTPlan:
            return "RT PLAN";
        case ERT_RTTreatRecord:
            return "RT TREAT RECORD";
        case ERT_KeyObjectDoc:
            return "KEY OBJECT DOC";
        case ERT_Registration:
            return "REGISTRATION";
        case ERT_Fiducial:
            return "FIDUCIAL";
        case ERT_RawData:
            return "RAW DATA";
        case ERT_Spectroscopy:
            return "SPECTROSCOPY";
        case ERT_EncapDoc:
            return "ENCAP DOC";
        case ERT_ValueMap:
            return "VALUE MAP";
        case ERT_Stereometric:
            return "STEREOMETRIC";
        case ERT_Surface:
            return "SURFACE";
        case ERT_Measurement:
            return "MEASUREMENT";
        case ERT_Plan:
            return "PLAN";
        case ERT_SurfaceScan:
            return "SURFACE SCAN";
        case ERT_Tract:
            return "TRACT";
        case ERT_Assessment:
            return "ASSESSMENT";
        case ERT_Radiotherapy:
            return "RADIOTHERAPY";
        default:
            return "IMAGE";
    }
}

// ---------------------------------------------------------------------------
// Values invented for missing required keys, as dcmmkdir --invent numbers them.

struct Inventions {
    unsigned long patient = 0, study = 0, series = 0, instance = 1;

    static std::string prefixed(const char* prefix, unsigned long n) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%s%06lu", prefix, n);
        return buf;
    }
    std::string patientId() { return prefixed("DCMTKPAT", patient++); }
    std::string studyId() { return prefixed("DCMTKSTUDY", study++); }
    std::string seriesNumber() { return std::to_string(series++); }
    std::string instanceNumber() { return std::to_string(instance++); }
};

constexpr const char* kUnknownDate = "19000101";
constexpr const char* kUnknownTime = "000000";
constexpr const char* kUnknownModality = "OT";

// ---------------------------------------------------------------------------
// Copying keys from an instance's dataset into a record.

class RecordFiller {
  public:
    RecordFiller(DcmItem& source, DcmDirectoryRecord& record, const std::string& what)
        : src_(source), rec_(record), what_(what) {}

    // A value the header reader skipped (over 64 KiB) is no key: it counts as missing.
    bool has(const DcmTagKey& key) { return src_.tagExistsWithValue(key) != OFFalse && kept(key); }

    // Type 1: the instance's value, else `fallback`, else (no sensible value
    // to invent) present and empty so the gap is visible to a validator.
    void type1(const DcmTagKey& key, const std::optional<std::string>& fallback = std::nullopt) {
        if (has(key))
            copy(key);
        else if (fallback)
            put(key, *fallback);
        else
            empty(key);
    }
    // Type 1 with a chain of other attributes to take the value from.
    void type1From(const DcmTagKey& key, std::initializer_list<DcmTagKey> alternatives,
                   const char* last) {
        if (has(key))
            return copy(key);
        for (const auto& alt : alternatives) {
            OFString value;
            if (src_.findAndGetOFStringArray(alt, value).good() && !value.empty())
                return put(key, value.c_str());
        }
        put(key, last);
    }
    void type1c(const DcmTagKey& key) {
        if (has(key))
            copy(key);
    }
    void type2(const DcmTagKey& key) {
        if (src_.tagExists(key) && kept(key))
            copy(key);
        else
            empty(key);
    }

    void put(const DcmTagKey& key, const std::string& value) {
        check(rec_.putAndInsertString(key, value.c_str()), key, "set");
    }

    void copy(const DcmTagKey& key) {
        DcmElement* element = nullptr;
        check(src_.findAndGetElement(key, element, OFFalse, OFTrue /*copy*/), key, "copy");
        const OFCondition c = rec_.insert(element, OFTrue /*replace*/);
        if (c.bad())
            delete element;
        check(c, key, "insert");
    }

    void empty(const DcmTagKey& key) { check(rec_.insertEmptyElement(key), key, "insert"); }

    // The instance's Specific Character Set on a record that holds text
    // (PN, LO, SH, ...), as dcmmkdir does, so its bytes are read as written.
    void characterSet() {
        if (rec_.isAffectedBySpecificCharacterSet())
            type1c(DCM_SpecificCharacterSet);
    }

    DcmItem& source() { return src_; }
    DcmDirectoryRecord& record() { return rec_; }
    const std::string& what() const { return what_; }

  private:
    bool kept(const DcmTagKey& key) {
        DcmElement* element = nullptr;
        if (src_.findAndGetElement(key, element).bad() || element == nullptr)
            return false;
        return element->ident() == EVR_SQ || element->valueLoaded();
    }

    void check(const OFCondition& c, const DcmTagKey& key, const char* action) const {
        if (c.bad())
            throw FileSetError(what_ + ": cannot " + action + " " + key.toString().c_str() +
                               " in its record (" + c.text() + ")");
    }

    DcmItem& src_;
    DcmDirectoryRecord& rec_;
    const std::string& what_;
};

// Content items that modify the document title (SR, KO), as dcmmkdir copies them.
void addConceptModifiers(RecordFiller& f) {
    DcmSequenceOfItems* content = nullptr;
    if (f.source().findAndGetSequence(DCM_ContentSequence, content).bad() || content == nullptr)
        return;
    auto copied = std::make_unique<DcmSequenceOfItems>(DCM_ContentSequence);
    for (unsigned long i = 0; i < content->card(); ++i) {
        DcmItem* item = content->getItem(i);
        OFString relationship;
        if (item != nullptr &&
            item->findAndGetOFString(DCM_RelationshipType, relationship).good() &&
            relationship == "HAS CONCEPT MOD")
            copied->append(new DcmItem(*item));
    }
    if (copied->card() > 0 && f.record().insert(copied.get(), OFTrue).good())
        copied.release();
}

// Study UID and referenced series of up to two blending items, as dcmmkdir copies them.
void addBlendingSequence(RecordFiller& f) {
    DcmSequenceOfItems* blending = nullptr;
    if (!f.has(DCM_BlendingSequence) ||
        f.source().findAndGetSequence(DCM_BlendingSequence, blending).bad() || blending == nullptr)
        return;
    auto copied = std::make_unique<DcmSequenceOfItems>(DCM_BlendingSequence);
    for (unsigned long i = 0; i < blending->card() && i < 2; ++i) {
        DcmItem* item = blending->getItem(i);
        auto out = std::make_unique<DcmItem>();
        item->findAndInsertCopyOfElement(DCM_StudyInstanceUID, out.get());
        item->findAndInsertCopyOfElement(DCM_ReferencedSeriesSequence, out.get());
        if (copied->append(out.get()).good())
            out.release();
    }
    if (copied->card() > 0 && f.record().insert(copied.get(), OFTrue).good())
        copied.release();
}

// The keys of the instance-level record of each type (PS3.3 F.5, dcddirif.cc).
void fillInstanceKeys(E_DirRecType type, RecordFiller& f, Inventions& invent) {
    const auto instanceNumber = [&] {
        f.type1(DCM_InstanceNumber,
                f.has(DCM_InstanceNumber) ? std::nullopt : std::optional(invent.instanceNumber()));
    };
    const auto contentDate = [&] {
        f.type1From(DCM_ContentDate, {DCM_InstanceCreationDate, DCM_SeriesDate, DCM_StudyDate},
                    kUnknownDate);
    };
    const auto contentTime = [&] {
        f.type1From(DCM_ContentTime, {DCM_InstanceCreationTime, DCM_SeriesTime, DCM_StudyTime},
                    kUnknownTime);
    };
    const auto contentIdentification = [&] {
        instanceNumber();
        f.type1(DCM_ContentLabel);
        f.type2(DCM_ContentDescription);
        f.type2(DCM_ContentCreatorName);
    };
    switch (type) {
        case ERT_SRDocument: {
            instanceNumber();
            f.type1(DCM_CompletionFlag, "PARTIAL");
            f.type1(DCM_VerificationFlag, "UNVERIFIED");
            contentDate();
            contentTime();
            OFString flag;
            if (f.source().findAndGetOFString(DCM_VerificationFlag, flag).good() &&
                flag == "VERIFIED") {
                DcmItem* observer = nullptr;
                if (f.source()
                        .findAndGetSequenceItem(DCM_VerifyingObserverSequence, observer, -1)
                        .good() &&
                    observer != nullptr) {
                    RecordFiller last(*observer, f.record(), f.what());
                    last.type1(DCM_VerificationDateTime);
                }
            }
            f.type1(DCM_ConceptNameCodeSequence);
            addConceptModifiers(f);
            break;
        }
        case ERT_KeyObjectDoc:
            instanceNumber();
            contentDate();
            contentTime();
            f.type1(DCM_ConceptNameCodeSequence);
            addConceptModifiers(f);
            break;
        case ERT_Presentation:
            instanceNumber();
            f.type1(DCM_ContentLabel);
            f.type2(DCM_ContentDescription);
            f.type1From(DCM_PresentationCreationDate,
                        {DCM_ContentDate, DCM_SeriesDate, DCM_StudyDate}, kUnknownDate);
            f.type1From(DCM_PresentationCreationTime,
                        {DCM_ContentTime, DCM_SeriesTime, DCM_StudyTime}, kUnknownTime);
            f.type2(DCM_ContentCreatorName);
            f.type1c(DCM_ReferencedSeriesSequence);
            addBlendingSequence(f);
            break;
        case ERT_Waveform:
            instanceNumber();
            contentDate();
            contentTime();
            break;
        case ERT_RTDose:
            instanceNumber();
            f.type1(DCM_DoseSummationType);
            f.type1c(DCM_DoseComment);
            break;
        case ERT_RTStructureSet:
            instanceNumber();
            f.type1(DCM_StructureSetLabel);
            f.type2(DCM_StructureSetDate);
            f.type2(DCM_StructureSetTime);
            break;
        case ERT_RTPlan:
            instanceNumber();
            f.type1(DCM_RTPlanLabel);
            f.type2(DCM_RTPlanDate);
            f.type2(DCM_RTPlanTime);
            break;
        case ERT_RTTreatRecord:
            instanceNumber();
            f.type2(DCM_TreatmentDate);
            f.type2(DCM_TreatmentTime);
            break;
        case ERT_Registration:
        case ERT_Fiducial:
        case ERT_ValueMap:
        case ERT_Surface:
        case ERT_Measurement:
        case ERT_Tract:
            contentDate();
            contentTime();
            contentIdentification();
            break;
        case ERT_RawData:
            contentDate();
            contentTime();
            f.type2(DCM_InstanceNumber);
            break;
        case ERT_Spectroscopy:
            f.type1(DCM_ImageType);
            contentDate();
            contentTime();
            instanceNumber();
            f.type1c(DCM_ReferencedImageEvidenceSequence);
            f.type1(DCM_NumberOfFrames);
            f.type1(DCM_Rows);
            f.type1(DCM_Columns);
            f.type1(DCM_DataPointRows);
            f.type1(DCM_DataPointColumns);
            break;
        case ERT_EncapDoc:
            f.type2(DCM_ContentDate);
            f.type2(DCM_ContentTime);
            instanceNumber();
            f.type2(DCM_DocumentTitle);
            f.type1c(DCM_HL7InstanceIdentifier);
            f.type2(DCM_ConceptNameCodeSequence);
            f.type1(DCM_MIMETypeOfEncapsulatedDocument);
            break;
        case ERT_SurfaceScan:
            contentDate();
            contentTime();
            break;
        case ERT_Assessment:
            instanceNumber();
            f.type1From(DCM_InstanceCreationDate, {DCM_ContentDate, DCM_SeriesDate, DCM_StudyDate},
                        kUnknownDate);
            f.type2(DCM_InstanceCreationTime);
            break;
        case ERT_Radiotherapy:
            instanceNumber();
            f.type1c(DCM_UserContentLabel);
            f.type1c(DCM_UserContentLongLabel);
            f.type2(DCM_ContentDescription);
            f.type2(DCM_ContentCreatorName);
            break;
        case ERT_Stereometric:
        case ERT_Plan:
            break;  // no keys beyond the references
        default:    // IMAGE
            instanceNumber();
            break;
    }
}

// ---------------------------------------------------------------------------

std::string toDicomFileId(const std::string& path) {
    std::string id = path;
    std::replace(id.begin(), id.end(), '/', '\\');
    return id;
}

bool validFileSetId(const std::string& id) {
    return id.size() <= 16 && std::all_of(id.begin(), id.end(), [](char c) {
               return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == ' ';
           });
}

// A UID under 2.25 (ISO/IEC 9834-8) from a digest of the file-set's content,
// so the same file-set gives the same DICOMDIR bytes (DCMTK would make a new
// random one on every write).
std::string fileSetUid(const std::string& fileSetId, std::span<const PlacedInstance> files) {
    std::string text = fileSetId;
    for (const auto& f : files) {
        text += '\n';
        text += f.path;
        text += '=';
        text += f.instance.sopInstanceUid;
    }
    const core::Sha256Digest digest = core::sha256(core::asBytes(text));
    std::array<std::uint8_t, 16> uuid{};
    std::copy_n(digest.begin(), uuid.size(), uuid.begin());
    uuid[6] = static_cast<std::uint8_t>((uuid[6] & 0x0F) | 0x80);  // version 8: custom (RFC 9562)
    uuid[8] = static_cast<std::uint8_t>((uuid[8] & 0x3F) | 0x80);  // RFC 4122 variant
    // 128-bit big-endian integer to decimal by repeated division.
    std::string decimal;
    while (std::any_of(uuid.begin(), uuid.end(), [](std::uint8_t b) { return b != 0; })) {
        unsigned remainder = 0;
        for (auto& b : uuid) {
            const unsigned value = (remainder << 8) | b;
            b = static_cast<std::uint8_t>(value / 10);
            remainder = value % 10;
        }
        decimal.push_back(static_cast<char>('0' + remainder));
    }
    std::reverse(decimal.begin(), decimal.end());
    return "2.25." + (decimal.empty() ? std::string("0") : decimal);
}

// A fresh 0700 directory inside the caller's scratch directory, removed with
// whatever is in it when this goes out of scope.
class ScratchDirectory {
  public:
    explicit ScratchDirectory(const std::filesystem::path& parent) {
        std::string name = (parent / "dicomdir-XXXXXX").string();
        if (::mkdtemp(name.data()) == nullptr)
            throw FileSetError("cannot make a scratch directory for the DICOMDIR: " +
                               std::generic_category().message(errno));
        path_ = name;
    }
    ~ScratchDirectory() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    ScratchDirectory(const ScratchDirectory&) = delete;
    ScratchDirectory& operator=(const ScratchDirectory&) = delete;

    [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

  private:
    std::filesystem::path path_;
};

core::Bytes readWhole(const std::filesystem::path& path) {
    core::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd)
        throw FileSetError("cannot read the DICOMDIR back: " +
                           std::generic_category().message(errno));
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode))
        throw FileSetError("cannot read the DICOMDIR back: not a regular file");
    core::Bytes bytes(static_cast<std::size_t>(st.st_size));
    if (core::readAll(fd.get(), bytes) != bytes.size())
        throw FileSetError("cannot read the DICOMDIR back: short read");
    return bytes;
}

std::string stringOf(DcmItem& item, const DcmTagKey& key) {
    OFString value;
    item.findAndGetOFStringArray(key, value);
    return value.c_str();
}

// The tree as it is built: records by their unique key, owned by the DICOMDIR.
class DirectoryTree {
  public:
    explicit DirectoryTree(DcmDirectoryRecord& root) : root_(root) {}

    void add(const PlacedInstance& file, DcmFileFormat& header, const std::string& what) {
        DcmDataset& ds = *header.getDataset();
        DcmMetaInfo& meta = *header.getMetaInfo();
        const std::string transferSyntax = stringOf(meta, DCM_TransferSyntaxUID);
        if (stringOf(ds, DCM_SOPInstanceUID) != file.instance.sopInstanceUid ||
            stringOf(meta, DCM_MediaStorageSOPInstanceUID) != file.instance.sopInstanceUid ||
            stringOf(ds, DCM_SOPClassUID) != file.instance.sopClassUid ||
            stringOf(ds, DCM_SeriesInstanceUID) != file.instance.seriesUid ||
            transferSyntax != file.instance.transferSyntaxUid)
            throw FileSetError(what + ": the blob does not hold the instance the catalogue names");

        DcmDirectoryRecord& series = seriesOf(ds, what);
        const E_DirRecType type = recordTypeOf(file.instance.sopClassUid);
        auto record = std::make_unique<DcmDirectoryRecord>(type, nullptr, OFFilename());
        RecordFiller f(ds, *record, what);
        f.put(DCM_ReferencedFileID, toDicomFileId(file.path));
        f.put(DCM_ReferencedSOPClassUIDInFile, file.instance.sopClassUid);
        f.put(DCM_ReferencedSOPInstanceUIDInFile, file.instance.sopInstanceUid);
        f.put(DCM_ReferencedTransferSyntaxUIDInFile, transferSyntax);
        fillInstanceKeys(type, f, invent_);
        f.characterSet();
        insert(series, std::move(record), what);
    }

  private:
    DcmDirectoryRecord& seriesOf(DcmDataset& ds, const std::string& what) {
        const std::string uid = stringOf(ds, DCM_SeriesInstanceUID);
        if (const auto it = series_.find(uid); it != series_.end())
            return *it->second;
        DcmDirectoryRecord& study = studyOf(ds, what);
        auto record = std::make_unique<DcmDirectoryRecord>(ERT_Series, nullptr, OFFilename());
        RecordFiller f(ds, *record, what);
        f.type1(DCM_Modality, std::string(kUnknownModality));
        f.type1(DCM_SeriesInstanceUID);
        f.type1(DCM_SeriesNumber,
                f.has(DCM_SeriesNumber) ? std::nullopt : std::optional(invent_.seriesNumber()));
        f.characterSet();
        return *(series_[uid] = insert(study, std::move(record), what));
    }

    DcmDirectoryRecord& studyOf(DcmDataset& ds, const std::string& what) {
        const std::string uid = stringOf(ds, DCM_StudyInstanceUID);
        if (const auto it = studies_.find(uid); it != studies_.end())
            return *it->second;
        DcmDirectoryRecord& patient = patientOf(ds, what);
        auto record = std::make_unique<DcmDirectoryRecord>(ERT_Study, nullptr, OFFilename());
        RecordFiller f(ds, *record, what);
        f.type1From(DCM_StudyDate, {DCM_SeriesDate, DCM_AcquisitionDate, DCM_ContentDate},
                    kUnknownDate);
        f.type1From(DCM_StudyTime, {DCM_SeriesTime, DCM_AcquisitionTime, DCM_ContentTime},
                    kUnknownTime);
        f.type2(DCM_StudyDescription);
        f.type1(DCM_StudyInstanceUID);
        f.type1(DCM_StudyID, f.has(DCM_StudyID) ? std::nullopt : std::optional(invent_.studyId()));
        f.type2(DCM_AccessionNumber);
        f.characterSet();
        return *(studies_[uid] = insert(patient, std::move(record), what));
    }

    // By Patient ID; a study without one gets a patient of its own.
    DcmDirectoryRecord& patientOf(DcmDataset& ds, const std::string& what) {
        const std::string id = stringOf(ds, DCM_PatientID);
        if (!id.empty())
            if (const auto it = patients_.find(id); it != patients_.end())
                return *it->second;
        auto record = std::make_unique<DcmDirectoryRecord>(ERT_Patient, nullptr, OFFilename());
        RecordFiller f(ds, *record, what);
        f.type1(DCM_PatientID, id.empty() ? std::optional(invent_.patientId()) : std::nullopt);
        f.type2(DCM_PatientName);
        f.characterSet();
        DcmDirectoryRecord* inserted = insert(root_, std::move(record), what);
        if (!id.empty())
            patients_[id] = inserted;
        return *inserted;
    }

    static DcmDirectoryRecord* insert(DcmDirectoryRecord& parent,
                                      std::unique_ptr<DcmDirectoryRecord> child,
                                      const std::string& what) {
        const OFCondition c = parent.insertSub(child.get());
        if (c.bad())
            throw FileSetError(what + ": cannot insert its directory record (" + c.text() + ")");
        return child.release();
    }

    DcmDirectoryRecord& root_;
    Inventions invent_;
    std::map<std::string, DcmDirectoryRecord*> patients_, studies_, series_;
};

}  // namespace

std::string_view directoryRecordType(std::string_view sopClassUid) noexcept {
    return recordTypeName(recordTypeOf(sopClassUid));
}

core::Bytes buildDicomDir(const state::BlobStore& blobs, std::span<const PlacedInstance> files,
                          const std::string& fileSetId, const std::filesystem::path& scratchDir) {
    if (!validFileSetId(fileSetId))
        throw std::invalid_argument(
            "buildDicomDir: the file-set ID must be at most 16 of A-Z, 0-9, '_' and space");
    std::set<std::string_view> paths, instances;
    for (const auto& f : files) {
        if (!isValidFileId(f.path))
            throw std::invalid_argument("buildDicomDir: invalid file ID " + f.path);
        if (!paths.insert(f.path).second)
            throw std::invalid_argument("buildDicomDir: file ID " + f.path + " twice");
        if (!instances.insert(f.instance.sopInstanceUid).second)
            throw std::invalid_argument("buildDicomDir: one instance placed twice (second at " +
                                        f.path + ")");
    }

    ScratchDirectory scratch(scratchDir);
    const std::filesystem::path file = scratch.path() / "DICOMDIR";
    core::Bytes bytes;
    {
        // Destroyed before `scratch`: DcmDicomDir's destructor may write.
        DcmDicomDir dir(OFFilename(file.c_str()), fileSetId.c_str());
        if (dir.error().bad())
            throw FileSetError(std::string("cannot start a DICOMDIR (") + dir.error().text() + ")");
        DirectoryTree tree(dir.getRootRecord());
        for (const auto& f : files) {
            const std::string what = f.path + " (blob " + f.instance.blobId + ")";
            auto header =
                detail::readInstanceHeader(blobs, f.instance.blobId, what, kMaxHeaderBytes);
            tree.add(f, *header, what);
        }
        DcmMetaInfo* meta = dir.getDirFileFormat().getMetaInfo();
        if (meta == nullptr || meta->putAndInsertString(DCM_MediaStorageSOPInstanceUID,
                                                        fileSetUid(fileSetId, files).c_str())
                                   .bad())
            throw FileSetError("cannot set the DICOMDIR's SOP Instance UID");
        const OFCondition written =
            dir.write(DICOMDIR_DEFAULT_TRANSFERSYNTAX, EET_UndefinedLength, EGL_withoutGL);
        if (written.bad())
            throw FileSetError(std::string("cannot write the DICOMDIR (") + written.text() + ")");
        bytes = readWhole(file);
    }
    return bytes;
}

}  // namespace sealport::media
