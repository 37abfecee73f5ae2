/*
 * fuzz_keys.h - fixed keys for the fuzz targets and their seed generator.
 * They sign the seed corpora, so that mutations of a seed still reach
 * signature verification. Test keys only: never use them for anything else.
 */
#ifndef FUZZ_KEYS_H
#define FUZZ_KEYS_H

static const char FUZZ_KEY_P256[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgBn34ErJvLDgXTdE5\n"
    "K0wXrwwydJqAnMMTonKdDKwtRPahRANCAASH/Nj+HFZe8luf/JjRKGLp7EvTXph8\n"
    "fdov3TMZx1F0SRUZu7iplc0UJGHk8s2IEXY9bugbUEOop4wO7wx//C5Q\n"
    "-----END PRIVATE KEY-----\n";

static const char FUZZ_KEY_P384[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIG2AgEAMBAGByqGSM49AgEGBSuBBAAiBIGeMIGbAgEBBDD6P3DizOuS3n7NyBEE\n"
    "xRA1gPeLIxQcLCnyUUuRKHD2l5lZEYZvnWaldn+gZU2R9LihZANiAARdZNukBWkY\n"
    "ojpxt6ql6aufy9T0WpDdeIGPj5cNkyTCrfHRLdLhm9x7zgwRVGH4ViFGzJaIxnNB\n"
    "8Jghb6a0TN3sbVJf0NjFEEGHHoigR1H4QIyOPGEZHqhtGscIPZdQXGo=\n"
    "-----END PRIVATE KEY-----\n";

static const char FUZZ_KEY_ED25519[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEILVYQsmcSTop9Zz7ShtITIQuIh1cylqM3XmD9PTLd5rh\n"
    "-----END PRIVATE KEY-----\n";

static const char FUZZ_KEY_RSA2048[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQCvJKYMF9iyZY/k\n"
    "WN9L7VCPvgtKV/I8LLCH72v18jqW0bUi3tSfuhg7Pku4CFWW6ID8Xw1lg+HstjIU\n"
    "HZzGBjOCoNpMi6baHdcflt7ocsH0xiWRylCSUHDXWV8FvfE+rScUWTdyoKoKJ0jy\n"
    "aul94Mg0Zx0A60TyUhvQ4+qf0JHwOAvsWqUbG1gPgWqUZySFtaGejDRdXYdQ3BGj\n"
    "+0ZhFNmyRu0Vd2ftKRErjMuGtsuLQDjx2c75enGOQMMTD4XiHexpSAuSC+FuQhs7\n"
    "20SIZXn4wWchNwQL69M82DTomVfCIPnZJOrMR3exVteRFU+OV0EloH3on+Ncp+j/\n"
    "VK76Dt2lAgMBAAECggEABFt+kBV1zDZvpog5gfuVAgaB5GccvTeFatRflL5ii8cK\n"
    "4SO3GYQ5PxwVKS535qnBL8YzoJ9v2wJLa6my8VBNLsZOuBHPZGTSqdQIlrLoNW1K\n"
    "mP52E7XRoOH11cA8hMktDDoOAZmSsW75xyI2ze1uPbOFCrVPwVGepItPFovLXbUU\n"
    "nLgJjYOEKtfGKMvwY7kAZEsxTHsal5lyaePZYeqWuu/QGfNTZD0oChCet2ADUqds\n"
    "o+95XEhzv//iKWMatZNTtEV7jkmED7l2p27Wwxjgvx4MF7Dy+3+G7Bn2h+wR8cGB\n"
    "cz0GPyyScA3AhN+Xfmub1lPiYKkX8aa7lm4O3LEGUQKBgQD1EOVW0Ju/OIm1Jm4z\n"
    "ZZijbhuCov8/bQqU43PsYYTR4dWRe/ICrUb9fYoLsU2xf9JEpKIUR7slGYTtcffa\n"
    "EX42LVnEPRiFsGnNdeEIUMoV07ctVoz1noo2Jttju4tnLaXHcSdXg7jNOV4WMjG2\n"
    "ceuYJ9JWiSIAjs6fJOFaTUIDrQKBgQC29Rr77sujdbYAO3qt0pGhllMVeo9pnVDl\n"
    "gFmepa47OuMGYcuGIeMh2qd77coFw7eLXUr+o1T/7DH0/Ppz5GaspCd00k87NBE8\n"
    "6U4f90pmbAodQeeTa6caCxf1Yles7/IY7sj69JZDX68vpf7wK2YLwkPMYWFfbePF\n"
    "PD43brjA2QKBgQCAOPDl9YwoBvr2Tz9FoRi2GfxG4+XNV847jK6wtW17K0BFOKat\n"
    "g+Aq7a5247QU9R4dUE6FceqXRLzqR8E41gJFcoEPTjAwctdI6y5s3Wh+9yFWlXx3\n"
    "XxZNsxMDIbOUrquYqLm+7mqY5jU2Q9kC7qQoHl3NbT7fL9koJ3HJf7bUmQKBgBLQ\n"
    "2lmWkXLaJEGZ3GAMC9Ymc5z94cnm1+8CaDUcrPKCd96sKBY/XfCZYCgqqGA3ZKT8\n"
    "jz3o5lD7pZegfNF2Z+jRaQ1mo6dfD3bIN7Sp5gjqi4++u2Y56BGRmoEt//5VHvzZ\n"
    "cen9RYbgTFAGLlXc4L3M2NQoH6+Eyav7KhrhVDbhAoGBALYgEBV9Ce90eMtY0ncV\n"
    "d7I+bY8i/pS9VWZsOlLDuomoQ7p6HPxHji3uYUdh4ioPTRlyN5AwyW9/rfIgxIrq\n"
    "NQI4tnGuWyTQnDpf/zs6uddfznVR/zzgcOw22Xn89gRtGoQm0Zp7aAFPVGhZbxle\n"
    "hahzVsZg8ym7GpleYHYMvEzx\n"
    "-----END PRIVATE KEY-----\n";

#endif
