/**
 * `POST /api/v1/auth/register`: the first account becomes the admin; later ones are viewers, and
 * only while the server allows self-registration (403 otherwise).
 */
import { mutationOptions, useMutation } from '@tanstack/react-query';
import { apiRequest } from '@/lib/api-client';
import type { RegisterRequest, TokenPair } from '@/lib/api-types';

export function register(body: RegisterRequest): Promise<TokenPair> {
  return apiRequest<TokenPair>('/auth/register', { method: 'POST', body, session: false });
}

export function registerMutationOptions() {
  return mutationOptions({ mutationKey: ['auth', 'register'], mutationFn: register });
}

export function useRegister() {
  return useMutation(registerMutationOptions());
}
