import * as auth from '../resolvers/auth.js';
import { builder } from './builder.js';

export const UserRef = builder.objectRef<{ id: string; username: string }>('User').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    username: t.exposeString('username', { description: 'Lower-case, 3-32 characters of a-z, 0-9 and _.' }),
  }),
});

export const AuthPayloadRef = builder.objectRef<auth.AuthResult>('AuthPayload').implement({
  fields: (t) => ({
    accessToken: t.exposeString('accessToken', {
      description: 'A JWT for the Authorization header (HTTP) or connectionParams.authorization (graphql-ws).',
    }),
    accessTokenExpiresAt: t.expose('accessTokenExpiresAt', { type: 'DateTime', description: 'When accessToken stops being accepted.' }),
    refreshToken: t.exposeString('refreshToken', {
      description: 'Opaque, single use: refresh() rotates it. Presenting a rotated one again revokes the whole login.',
    }),
    user: t.field({ type: UserRef, resolve: (p) => p.user }),
  }),
});

builder.queryField('me', (t) =>
  t.field({
    type: UserRef,
    description: 'The signed-in user. UNAUTHENTICATED without a valid access token.',
    resolve: (_root, _args, ctx) => auth.me(ctx),
  }),
);

builder.mutationFields((t) => {
  const credentials = { username: t.arg.string({ required: true }), password: t.arg.string({ required: true }) };
  return {
    register: t.field({ type: AuthPayloadRef, args: credentials, resolve: (_r, args, ctx) => auth.register(ctx, args) }),
    login: t.field({ type: AuthPayloadRef, args: credentials, resolve: (_r, args, ctx) => auth.login(ctx, args) }),
    refresh: t.field({
      type: AuthPayloadRef,
      args: { refreshToken: t.arg.string({ required: true }) },
      resolve: (_r, args, ctx) => auth.refresh(ctx, args),
    }),
    logout: t.boolean({
      description: 'Revokes the login that this refresh token belongs to. True when something was revoked.',
      args: { refreshToken: t.arg.string({ required: true }) },
      resolve: (_r, args, ctx) => auth.logout(ctx, args),
    }),
  };
});
