export { catalogSnapshot, olderMigrations, postgresCatalogSnapshot } from "./catalog-snapshot.js";
export { FileDatabases, test } from "./database-fixture.js";
export {
  createPostgresDatabase,
  openTestDatabase,
  type TestBackend,
  type TestDatabaseOptions,
  testBackends,
} from "./test-databases.js";
