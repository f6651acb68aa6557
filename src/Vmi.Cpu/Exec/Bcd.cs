using Vmi.Cpu.Decode;

namespace Vmi.Cpu;

/// <summary>DAA, DAS, AAA, AAS, AAM, AAD and the undocumented SALC, per the Intel pseudocode.</summary>
public sealed unsafe partial class Cpu
{
    internal int Bcd(ref Uop u)
    {
        uint al = R(Reg.Eax) & 0xFF;
        bool cf = CF, af = AF;
        switch (u.Sub)
        {
            case 0: // DAA
                {
                    uint oldAl = al;
                    bool oldCf = cf;
                    cf = false;
                    if ((al & 0xF) > 9 || af) { al += 6; cf = oldCf || al > 0xFF; af = true; } else af = false;
                    if (oldAl > 0x99 || oldCf) { al += 0x60; cf = true; }
                    al &= 0xFF;
                    SetReg(1, Reg.Eax, al);
                    SetFlagsEager(SzpFlags(al, 1) | (cf ? EFlags.CF : 0) | (af ? EFlags.AF : 0));
                    return Status.Next;
                }
            case 1: // DAS
                {
                    uint oldAl = al;
                    bool oldCf = cf;
                    cf = false;
                    if ((al & 0xF) > 9 || af) { cf = oldCf || al < 6; al -= 6; af = true; } else af = false;
                    if (oldAl > 0x99 || oldCf) { al -= 0x60; cf = true; }
                    al &= 0xFF;
                    SetReg(1, Reg.Eax, al);
                    SetFlagsEager(SzpFlags(al, 1) | (cf ? EFlags.CF : 0) | (af ? EFlags.AF : 0));
                    return Status.Next;
                }
            case 2: // AAA
            case 3: // AAS
                {
                    uint ax = R(Reg.Eax) & 0xFFFF;
                    if ((al & 0xF) > 9 || af)
                    {
                        ax = u.Sub == 2 ? ax + 0x106 : ax - 0x106;
                        af = cf = true;
                    }
                    else af = cf = false;
                    ax = (ax & 0xFF0F);
                    SetReg(2, Reg.Eax, ax);
                    SetFlagsEager(SzpFlags(ax & 0xFF, 1) | (cf ? EFlags.CF : 0) | (af ? EFlags.AF : 0));
                    return Status.Next;
                }
            case 4: // AAM
                {
                    uint imm = u.Imm & 0xFF;
                    if (imm == 0) return Fault(Vectors.DE);
                    uint ah = al / imm, nal = al % imm;
                    SetReg(2, Reg.Eax, (ah << 8) | nal);
                    SetFlagsEager(SzpFlags(nal, 1));
                    return Status.Next;
                }
            case 5: // AAD
                {
                    uint ah = (R(Reg.Eax) >> 8) & 0xFF;
                    uint nal = (al + ah * (u.Imm & 0xFF)) & 0xFF;
                    SetReg(2, Reg.Eax, nal);
                    SetFlagsEager(SzpFlags(nal, 1));
                    return Status.Next;
                }
            default: // SALC: AL = CF ? 0xFF : 0
                SetReg(1, Reg.Eax, cf ? 0xFFu : 0);
                return Status.Next;
        }
    }
}
