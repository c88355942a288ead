#pragma once

#ifndef SQLITE_HAS_CODEC
#define SQLITE_HAS_CODEC 1
#endif
#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sealport/core/secret.hpp"

namespace sealport::state {

struct Sqlite3Close {
    void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
struct StmtFinalize {
    void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using Sqlite3Ptr = std::unique_ptr<sqlite3, Sqlite3Close>;
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalize>;

// The state exists but this key does not open it.
class StateKeyError : public std::runtime_error {
public:
    StateKeyError() : std::runtime_error("state cannot be decrypted with this key") {}
};

// Any other SQLite failure; carries the SQLite result code.
class DbError : public std::runtime_error {
public:
    DbError(int code, const std::string& what) : std::runtime_error(what), code_(code) {}
    [[nodiscard]] int code() const noexcept { return code_; }

private:
    int code_;
};

// Prepared statements kept for reuse by one connection: preparing (parsing
// the SQL, reading the schema) costs more than running the short statements
// ingest issues for every object.
class StatementCache {
public:
    StatementCache() = default;
    ~StatementCache();
    StatementCache(const StatementCache&) = delete;
    StatementCache& operator=(const StatementCache&) = delete;

    // A statement prepared earlier for exactly this SQL, reset, or nullptr.
    sqlite3_stmt* take(std::string_view sql) noexcept;
    void give(std::string_view sql, sqlite3_stmt* stmt) noexcept;

private:
    std::unordered_map<std::string, std::vector<sqlite3_stmt*>> free_;
};

class Statement {
public:
    Statement(sqlite3* db, std::string_view sql);
    // Reuses a cached statement if there is one and returns it to the cache
    // (reset, bindings cleared) when destroyed.
    Statement(sqlite3* db, std::string_view sql, std::shared_ptr<StatementCache> cache);
    ~Statement();
    Statement(Statement&&) noexcept = default;
    Statement& operator=(Statement&&) noexcept = default;

    Statement& bind(int index, std::int64_t value);
    Statement& bind(int index, std::string_view text);
    Statement& bind(int index, std::span<const std::uint8_t> blob);
    Statement& bindNull(int index);

    // Advances; true while a row is available.
    bool step();
    void reset();

    [[nodiscard]] bool isNull(int col) const;
    [[nodiscard]] std::int64_t integer(int col) const;
    [[nodiscard]] std::string text(int col) const;
    [[nodiscard]] std::vector<std::uint8_t> blob(int col) const;

private:
    sqlite3* db_;
    StmtPtr stmt_;
    std::shared_ptr<StatementCache> cache_;
    std::string sql_;
};

// An SQLCipher database file opened with a raw 256-bit key.
class Database {
public:
    // Opens (creating if absent) and proves the key by reading the schema.
    // Throws StateKeyError when the key does not decrypt an existing file.
    static Database open(const std::filesystem::path& path, const core::SecretBytes& rawKey);

    void exec(std::string_view sql);
    [[nodiscard]] Statement prepare(std::string_view sql);
    [[nodiscard]] bool inTransaction() const noexcept;
    [[nodiscard]] sqlite3* handle() const noexcept { return db_.get(); }

    // Runs `fn` after the outermost transaction commits (at once when none is
    // open); dropped if it rolls back. For effects outside the database that
    // must not run ahead of it, such as the journal mirror of the audit log.
    void afterCommit(std::function<void()> fn);
    // Runs `fn` once the outermost transaction ends, committed or rolled back
    // (at once when none is open). For records that must survive a rollback,
    // such as the failure entry of an interrupted audit event.
    void afterTransaction(std::function<void()> fn);

    // "ok", or SQLite's description of what is wrong.
    [[nodiscard]] std::string integrityCheck();

    // A consistent snapshot for reads (BEGIN DEFERRED): it takes no write
    // lock, so in WAL mode it neither waits for writers on other connections
    // nor makes them wait. Inside an open transaction it does nothing.
    class ReadTransaction {
    public:
        explicit ReadTransaction(Database& db);
        ~ReadTransaction();
        ReadTransaction(const ReadTransaction&) = delete;
        ReadTransaction& operator=(const ReadTransaction&) = delete;

    private:
        Database& db_;
        bool own_;
    };

    // BEGIN IMMEDIATE at the outermost level, a SAVEPOINT when nested.
    // Rolls back unless commit() was called.
    class Transaction {
    public:
        explicit Transaction(Database& db);
        ~Transaction();
        Transaction(const Transaction&) = delete;
        Transaction& operator=(const Transaction&) = delete;
        void commit();

    private:
        Database& db_;
        bool nested_;
        std::size_t pendingAtStart_;
        bool done_ = false;
        std::string savepoint_;
    };

private:
    explicit Database(Sqlite3Ptr db) : db_(std::move(db)) {}
    Sqlite3Ptr db_;
    std::shared_ptr<StatementCache> statements_ = std::make_shared<StatementCache>();  // destroyed before db_
    unsigned savepointCounter_ = 0;
    void runAfterTransaction(bool committed) noexcept;
    std::vector<std::function<void()>> afterCommit_;
    std::vector<std::function<void()>> afterTransaction_;
};

[[noreturn]] void throwDbError(sqlite3* db, int rc, std::string_view what);

// Versioned migrations, each applied in its own transaction. Throws when the
// file is from a newer schema than this build knows.
void migrate(Database& db);
inline constexpr int kSchemaVersion = 3;

}  // namespace sealport::state
