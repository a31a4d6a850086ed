/** `POST /api/v1/auth/login`: email and password for a token pair. */
import { mutationOptions, useMutation } from '@tanstack/react-query';
import { apiRequest } from '@/lib/api-client';
import type { LoginRequest, TokenPair } from '@/lib/api-types';

export function login(body: LoginRequest): Promise<TokenPair> {
  // Not a session call: a 401 here is "Invalid credentials", shown on the form.
  return apiRequest<TokenPair>('/auth/login', { method: 'POST', body, session: false });
}

export function loginMutationOptions() {
  return mutationOptions({ mutationKey: ['auth', 'login'], mutationFn: login });
}

export function useLogin() {
  return useMutation(loginMutationOptions());
}
