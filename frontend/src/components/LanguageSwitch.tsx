/** The language menu of the header and the login page. */
import { TranslationOutlined } from '@ant-design/icons';
import { Button, Dropdown } from 'antd';
import { LOCALES, useI18n, type Locale } from '@/i18n/i18n';

export function LanguageSwitch() {
  const { locale, setLocale, t } = useI18n();
  const current = LOCALES.find((entry) => entry.value === locale);
  return (
    <Dropdown
      menu={{
        items: LOCALES.map((entry) => ({ key: entry.value, label: entry.label })),
        selectable: true,
        selectedKeys: [locale],
        onClick: ({ key }) => setLocale(key as Locale),
      }}
      placement="bottomRight"
    >
      <Button type="text" icon={<TranslationOutlined />} aria-label={t('layout.language')}>
        {current?.label}
      </Button>
    </Dropdown>
  );
}
