import type { Database } from '../database.js';
import type { NewTenant, Tenant, TenantUpdate } from '../schema.js';

export interface TenantsRepository {
  list(): Promise<Tenant[]>;
  find(id: string): Promise<Tenant | undefined>;
  /** Inserts the tenant; returns undefined when the id is taken. */
  create(tenant: NewTenant): Promise<Tenant | undefined>;
  update(id: string, changes: Omit<TenantUpdate, 'id' | 'created_at'>): Promise<Tenant | undefined>;
}

export function createTenantsRepository(db: Database): TenantsRepository {
  return {
    list: () => db.selectFrom('tenants').selectAll().orderBy('id').execute(),
    find: (id) => db.selectFrom('tenants').selectAll().where('id', '=', id).executeTakeFirst(),
    create: (tenant) =>
      db.insertInto('tenants').values(tenant).onConflict((oc) => oc.column('id').doNothing()).returningAll().executeTakeFirst(),
    update: (id, changes) =>
      db
        .updateTable('tenants')
        .set({ ...changes, updated_at: new Date() })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirst(),
  };
}
