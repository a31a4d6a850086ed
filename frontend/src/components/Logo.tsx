/** The VigilOps mark and word mark. The same drawing as `public/favicon.svg`. */
import { Flex, Typography } from 'antd';
import { useId } from 'react';

export function LogoMark({ size = 28 }: { size?: number }) {
  // Each mark needs its own gradient id: a shared id resolves to the first mark on the page, and
  // if that one is hidden (display: none) every other mark loses its fill.
  const gradientId = `vigilops-logo-${useId().replace(/:/g, '')}`;
  return (
    <svg width={size} height={size} viewBox="0 0 64 64" aria-hidden="true">
      <defs>
        <linearGradient id={gradientId} x1="0" y1="0" x2="1" y2="1">
          <stop offset="0" stopColor="#4096ff" />
          <stop offset="1" stopColor="#0958d9" />
        </linearGradient>
      </defs>
      <rect width="64" height="64" rx="14" fill={`url(#${gradientId})`} />
      <path
        d="M10 34h10l6-14 9 26 7-18 4 6h8"
        fill="none"
        stroke="#fff"
        strokeWidth="5"
        strokeLinecap="round"
        strokeLinejoin="round"
      />
    </svg>
  );
}

export function Logo({ collapsed = false, size = 28 }: { collapsed?: boolean; size?: number }) {
  return (
    <Flex align="center" gap={10}>
      <LogoMark size={size} />
      {collapsed ? null : (
        <Typography.Text strong style={{ fontSize: size * 0.64, letterSpacing: 0.2 }}>
          VigilOps
        </Typography.Text>
      )}
    </Flex>
  );
}
