using System.Text;
using Vmi.Hypervisors.Costs;

namespace Vmi.Hypervisors.Tests.Costs;

/// <summary>Whatever the bytes, reading a profile either succeeds or throws <see cref="CostProfileException"/>: nothing else escapes.</summary>
public class ProfileRobustnessTests
{
    private static readonly byte[] Valid = Encoding.UTF8.GetBytes(ProfileText.P4);

    [Fact]
    public void Every_truncation_is_a_profile_error()
    {
        for (int length = 0; length < Valid.Length - 2; length += 7)
        {
            Assert.Throws<CostProfileException>(() => CostProfiles.Parse(Valid[..length], "cut.json"));
        }
    }

    [Fact]
    public void Random_byte_edits_parse_or_fail_as_profile_errors()
    {
        var random = new Random(2006); // fixed: the same edits every run
        byte[] interesting = "{}[]\",:-.0159eE \n\\/*xnt\u00ff"u8.ToArray();
        for (int i = 0; i < 3000; i++)
        {
            byte[] bytes = (byte[])Valid.Clone();
            for (int edits = random.Next(1, 4); edits > 0; edits--)
            {
                bytes[random.Next(bytes.Length)] = random.Next(4) == 0 ? (byte)random.Next(256) : interesting[random.Next(interesting.Length)];
            }

            try
            {
                CostProfiles.Parse(bytes, "edited.json");
            }
            catch (CostProfileException)
            {
            }
        }
    }
}
